// The account's cards: added through the payment provider (only its token is stored), one the default.
import { and, desc, eq, lt, ne, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { newId } from '../../../db/ids.ts';
import { paymentMethods } from '../../../db/schema/billing.ts';
import { badRequest, notFound } from '../../errors.ts';
import { toPage, type PageRequest } from '../../pagination.ts';
import { audit } from '../audit/service.ts';
import { paymentProvider } from './provider.ts';
import type { PaymentMethod, PaymentMethodCreate } from './schemas.ts';

type MethodRow = typeof paymentMethods.$inferSelect;

export function serializeMethod(row: MethodRow): PaymentMethod {
  return {
    id: row.id, type: 'card', brand: row.brand, last4: row.last4, exp_month: row.expMonth, exp_year: row.expYear,
    holder_name: row.holderName, is_default: row.isDefault, created_at: row.createdAt.toISOString(),
  };
}

const CARD_POINTERS = {
  invalid_number: '/body/number', invalid_expiry: '/body/exp_month', expired_card: '/body/exp_year', invalid_cvc: '/body/cvc',
} as const;

/**
 * Adds a card: the number, expiry, CVC and holder go to the payment provider, which returns a
 * token; Coffer stores the token, brand, last four digits and expiry. The first card (and a card
 * added when there is none) becomes the default; a card added later is activated explicitly.
 */
export async function addPaymentMethod(deps: AppDeps, ctx: RequestContext, input: PaymentMethodCreate) {
  const now = deps.clock.now();
  const provider = paymentProvider(deps);
  const result = await provider.tokenize({ number: input.number, expMonth: input.exp_month, expYear: input.exp_year, cvc: input.cvc, holderName: input.holder_name }, now);
  if (!result.ok) {
    throw badRequest(`card_${result.code}`, result.message, [{ pointer: CARD_POINTERS[result.code], detail: result.message }]);
  }
  const row = await deps.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${'payment_methods:' + ctx.accountId}))`);
    const [existing] = await tx.select({ id: paymentMethods.id }).from(paymentMethods)
      .where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.isDefault, true)));
    const [pm] = await tx.insert(paymentMethods).values({
      id: newId('pm'), accountId: ctx.accountId, provider: provider.name, providerToken: result.card.token, brand: result.card.brand,
      last4: result.card.last4, expMonth: result.card.expMonth, expYear: result.card.expYear, holderName: input.holder_name.trim(),
      isDefault: !existing, createdAt: now,
    }).returning();
    await audit(deps, ctx, { type: 'payment_method_added', description: `Card ${pm!.brand} •••• ${pm!.last4} added`, details: { payment_method_id: pm!.id } }, tx);
    return pm!;
  });
  return serializeMethod(row);
}

export async function listPaymentMethods(deps: AppDeps, ctx: RequestContext, page: PageRequest) {
  const rows = await deps.db.select().from(paymentMethods)
    .where(and(eq(paymentMethods.accountId, ctx.accountId), page.after ? lt(paymentMethods.id, page.after) : undefined))
    .orderBy(desc(paymentMethods.id)).limit(page.limit + 1);
  return toPage(rows, page.limit, serializeMethod);
}

async function findMethod(deps: AppDeps, ctx: RequestContext, id: string) {
  const [row] = await deps.db.select().from(paymentMethods).where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.id, id)));
  if (!row) throw notFound('Payment method', id);
  return row;
}

export async function getPaymentMethod(deps: AppDeps, ctx: RequestContext, id: string) {
  return serializeMethod(await findMethod(deps, ctx, id));
}

/** Makes a card the default: the one invoices are charged to. */
export async function activatePaymentMethod(deps: AppDeps, ctx: RequestContext, id: string) {
  await findMethod(deps, ctx, id);
  const row = await deps.db.transaction(async (tx) => {
    await tx.update(paymentMethods).set({ isDefault: false }).where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.isDefault, true), ne(paymentMethods.id, id)));
    const [pm] = await tx.update(paymentMethods).set({ isDefault: true }).where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.id, id))).returning();
    await audit(deps, ctx, { type: 'payment_method_activated', description: `Card ${pm!.brand} •••• ${pm!.last4} is now the default`, details: { payment_method_id: id } }, tx);
    return pm!;
  });
  return serializeMethod(row);
}

/** Deletes a card; when it was the default, the most recently added other card becomes the default. */
export async function deletePaymentMethod(deps: AppDeps, ctx: RequestContext, id: string) {
  const current = await findMethod(deps, ctx, id);
  await deps.db.transaction(async (tx) => {
    await tx.delete(paymentMethods).where(and(eq(paymentMethods.accountId, ctx.accountId), eq(paymentMethods.id, id)));
    if (current.isDefault) {
      const [next] = await tx.select({ id: paymentMethods.id }).from(paymentMethods).where(eq(paymentMethods.accountId, ctx.accountId)).orderBy(desc(paymentMethods.id)).limit(1);
      if (next) await tx.update(paymentMethods).set({ isDefault: true }).where(eq(paymentMethods.id, next.id));
    }
    await audit(deps, ctx, { type: 'payment_method_deleted', description: `Card ${current.brand} •••• ${current.last4} deleted`, details: { payment_method_id: id } }, tx);
  });
}
