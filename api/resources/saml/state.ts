// What other modules need to know about an account's SAML set-up, without the SAML machinery:
// whether it is on (password sign-in refuses then) and Coffer's own URLs for the account.
import { and, eq } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { Tx } from '../../../db/client.ts';
import { samlConfigs } from '../../../db/schema.ts';

export async function samlEnabled(db: Tx, accountId: string): Promise<boolean> {
  const [row] = await db.select({ enabled: samlConfigs.enabled }).from(samlConfigs).where(and(eq(samlConfigs.accountId, accountId), eq(samlConfigs.enabled, true)));
  return row?.enabled === true;
}

/** Coffer's service-provider URLs for one account; the metadata URL is also its entity id (the audience). */
export function spUrls(deps: Pick<AppDeps, 'config'>, accountId: string) {
  const base = `${deps.config.publicUrl}/v1/saml/${accountId}`;
  return { entityId: `${base}/metadata`, metadataUrl: `${base}/metadata`, acsUrl: `${base}/acs`, loginUrl: `${base}/login` };
}

export function samlLoginUrl(deps: Pick<AppDeps, 'config'>, accountId: string): string {
  return spUrls(deps, accountId).loginUrl;
}
