// What a bearer credential resolved to, kept for a few seconds so that a burst of requests with one
// API key costs one database lookup, not one per request. Every use of an entry is checked against
// the account's credentials version, which the same triggers bump and which the auth plugin reads
// in the round trip it makes anyway (the rate count), so a change applies to the very next
// request on every process. Besides:
// - every change that can refuse a credential (revocation, expiry date, deletion, the user's
//   state, role or permissions, the account's state, its IP allowlist) NOTIFYs the account id on
//   `coffer_credentials` (triggers, db/shared-state.ts); every process LISTENs and drops what it
//   holds of that account before its next request;
// - an entry lives CREDENTIAL_CACHE_MS at most, which bounds the damage of a lost notification.
// While the LISTEN connection is not established nothing is cached, and a lookup that started
// before a notification arrived is not stored (it may have read the row from before the change).
// Expiry times are compared with the clock on every request, so a key expires on time.
import type postgres from 'postgres';
import { CREDENTIALS_CHANNEL } from '../db/shared-state.ts';

export const CREDENTIAL_CACHE_MS = 5_000;
/** Far more than the credentials one process sees in a few seconds; beyond it the cache starts over. */
const MAX_ENTRIES = 50_000;

interface Entry<T> {
  value: T;
  accountId: string;
  storedAt: number;
}

export class CredentialCache<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #ttlMs: number;
  #generation = 0;
  #listening = false;
  #unlisten: (() => Promise<void>) | undefined;

  constructor(ttlMs = CREDENTIAL_CACHE_MS) {
    this.#ttlMs = ttlMs;
  }

  /** Subscribes to the invalidations; resolves once LISTEN is in place. */
  async listen(sql: postgres.Sql): Promise<void> {
    const subscription = await sql.listen(
      CREDENTIALS_CHANNEL,
      (accountId) => this.invalidate(accountId),
      // Called on every (re)connection: what was cached while disconnected may have missed a change.
      () => {
        this.clear();
        this.#listening = true;
      },
    );
    this.#unlisten = () => subscription.unlisten();
  }

  async close(): Promise<void> {
    this.#listening = false;
    this.clear();
    await this.#unlisten?.();
  }

  /** Taken before a lookup and handed to `set`, which ignores a lookup that a change overtook. */
  get generation(): number {
    return this.#generation;
  }

  get(key: string, now: number): T | undefined {
    if (!this.#listening) return undefined;
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (now - entry.storedAt >= this.#ttlMs || now < entry.storedAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, accountId: string, value: T, generation: number, now: number): void {
    if (!this.#listening || generation !== this.#generation) return;
    if (this.#entries.size >= MAX_ENTRIES) this.#entries.clear();
    this.#entries.set(key, { value, accountId, storedAt: now });
  }

  invalidate(accountId: string): void {
    this.#generation += 1;
    for (const [key, entry] of this.#entries) if (entry.accountId === accountId) this.#entries.delete(key);
  }

  clear(): void {
    this.#generation += 1;
    this.#entries.clear();
  }
}
