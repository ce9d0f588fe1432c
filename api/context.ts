// What a request is allowed to act on. It is built once per request by the auth plugin; services
// take it as their first argument and scope every query by `accountId`, which is the only way a
// service learns which tenant it serves.
import type { Permission } from './permissions.ts';
import type { AccountState } from '../db/schema/accounts.ts';

export interface RequestContext {
  /** The account the request acts on: the credential's own, or a partner's customer (Coffer-Account). */
  accountId: string;
  /**
   * Set when a partner's credential acts for one of its customers (the `Coffer-Account` header,
   * api/plugins/auth.ts): the partner's account, where `userId` and `credentialId` live. Absent
   * when the caller acts in its own account.
   */
  partnerAccountId?: string;
  /** In a partner account: the customers this user may act for (null or absent: all of them). */
  customerIds?: readonly string[] | null;
  userId: string;
  /** The API key or session the request authenticated with. */
  credentialId: string;
  credentialKind: 'api_key' | 'session';
  permissions: ReadonlySet<Permission>;
  /** The user's role: some changes (SAML, the security policy, anything about an administrator) need an administrator. */
  role: 'administrator' | 'custom';
  ip: string;
  userAgent: string | undefined;
  requestId: string;
  /** The account's state when the request arrived (a removal in progress makes it read-only). */
  accountState: AccountState;
}

declare module 'fastify' {
  interface FastifyRequest {
    ctx: RequestContext | null;
  }
  interface FastifyContextConfig {
    /** No credentials needed (sign-up, health, docs). */
    public?: boolean;
    /** The permission a caller needs; omitted on authenticated routes any user may call. */
    permission?: Permission;
  }
}

export function requireCtx(ctx: RequestContext | null): RequestContext {
  if (!ctx) throw new Error('route reached without a request context: is it marked public by mistake?');
  return ctx;
}
