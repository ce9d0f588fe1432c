// The billing messages an account sees (GET /v1/billing/messages and the status banners).
import { and, eq, inArray, isNull } from 'drizzle-orm';
import type { Tx } from '../../../db/client.ts';
import { newId } from '../../../db/ids.ts';
import { billingMessages, type BillingMessageKind } from '../../../db/schema/billing.ts';

export async function addMessage(db: Tx, accountId: string, kind: BillingMessageKind, message: string, now: Date, invoiceId: string | null = null) {
  // One open message per kind and invoice: a retry that fails again does not pile up banners.
  const open = await db
    .select({ id: billingMessages.id })
    .from(billingMessages)
    .where(and(
      eq(billingMessages.accountId, accountId), eq(billingMessages.kind, kind), isNull(billingMessages.resolvedAt),
      invoiceId ? eq(billingMessages.invoiceId, invoiceId) : isNull(billingMessages.invoiceId),
    ));
  if (open.length) {
    await db.update(billingMessages).set({ message, createdAt: now }).where(eq(billingMessages.id, open[0]!.id));
    return;
  }
  await db.insert(billingMessages).values({ id: newId('bmsg'), accountId, kind, invoiceId, message, createdAt: now });
}

export async function resolveMessages(db: Tx, accountId: string, now: Date, where: { invoiceId?: string; kinds?: BillingMessageKind[] }) {
  await db
    .update(billingMessages)
    .set({ resolvedAt: now })
    .where(and(
      eq(billingMessages.accountId, accountId), isNull(billingMessages.resolvedAt),
      where.invoiceId ? eq(billingMessages.invoiceId, where.invoiceId) : undefined,
      where.kinds ? inArray(billingMessages.kind, where.kinds) : undefined,
    ));
}
