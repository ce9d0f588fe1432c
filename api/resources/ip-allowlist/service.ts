// IP restrictions (seed 5.4.4): trusted addresses, ranges and CIDR blocks. When enabled, every
// authenticated request (API keys and sessions alike) must come from a trusted address; the auth
// plugin calls `assertClientAllowed`. A change that would lock the caller out (enabling while the
// caller's own address is outside, or editing/deleting entries so that it falls outside) is refused
// with 409 `would_lock_out`. Every change is audited and emailed to the administrators and to whoever made it (seed 5.4.5).
import { and, asc, eq, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import type { Tx } from '../../../db/client.ts';
import { accountSecurity, ipRules, users } from '../../../db/schema.ts';
import { newId } from '../../../db/ids.ts';
import { conflict, forbidden, invalidField, notFound } from '../../errors.ts';
import { encodeCursor, type PageRequest } from '../../pagination.ts';
import { audit, type Transaction } from '../audit/service.ts';
import { accountSecurityOf } from '../security/service.ts';
import { administratorEmails } from '../users/service.ts';
import { compare, isAllowed, normalizeAddress, normalizeCidr, parseAddress, type Rule } from './match.ts';
import type { IpAllowlist, IpAllowlistEntry, IpAllowlistEntryCreate, IpAllowlistEntryUpdate } from './schemas.ts';
import { checkVersion } from '../../etag.ts';

type Row = typeof ipRules.$inferSelect;
const ALLOWLIST_LOCK = 0x4950414c; // "IPAL"

export function serializeEntry(row: Row): IpAllowlistEntry {
  return {
    id: row.id,
    description: row.description,
    kind: row.kind,
    addresses: row.kind === 'addresses' ? row.addresses ?? [] : null,
    range: row.kind === 'range' ? { from: row.rangeFrom!, to: row.rangeTo! } : null,
    cidr: row.kind === 'cidr' ? row.cidr : null,
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}

function describe(rule: Rule): string {
  if (rule.kind === 'addresses') return (rule.addresses ?? []).join(', ');
  if (rule.kind === 'range') return `${rule.rangeFrom} – ${rule.rangeTo}`;
  return rule.cidr ?? '';
}

/** Used by the auth plugin on every authenticated request of an account whose allowlist is on. */
export async function assertClientAllowed(db: Tx, accountId: string, clientIp: string) {
  assertAllowedBy(await allowlistRules(db, accountId), clientIp);
}

/** The account's allowlist entries (the auth plugin caches them beside the credential). */
export function allowlistRules(db: Tx, accountId: string): Promise<Rule[]> {
  return db.select().from(ipRules).where(eq(ipRules.accountId, accountId));
}

export function assertAllowedBy(rules: Rule[], clientIp: string) {
  if (!isAllowed(rules, clientIp)) {
    throw forbidden('access_denied', `Access denied: this account accepts requests only from trusted IP addresses, and ${clientIp} is not one of them.`);
  }
}

type Definition = Pick<Row, 'kind' | 'addresses' | 'rangeFrom' | 'rangeTo' | 'cidr'>;

function parseDefinition(input: IpAllowlistEntryCreate | IpAllowlistEntryUpdate, required: boolean): Definition | null {
  const given = (['addresses', 'range', 'cidr'] as const).filter((k) => input[k] !== undefined);
  if (given.length > 1) throw invalidField(`/body/${given[1]}`, 'give exactly one of `addresses`, `range` or `cidr`');
  if (given.length === 0) {
    if (required) throw invalidField('/body', 'give one of `addresses`, `range` or `cidr`');
    return null;
  }
  if (input.addresses) {
    const addresses = input.addresses.map((a, i) => {
      const n = normalizeAddress(a);
      if (!n) throw invalidField(`/body/addresses/${i}`, `"${a}" is not an IPv4 or IPv6 address`);
      return n;
    });
    return { kind: 'addresses', addresses: [...new Set(addresses)], rangeFrom: null, rangeTo: null, cidr: null };
  }
  if (input.range) {
    const from = parseAddress(input.range.from);
    if (!from) throw invalidField('/body/range/from', `"${input.range.from}" is not an IPv4 or IPv6 address`);
    const to = parseAddress(input.range.to);
    if (!to) throw invalidField('/body/range/to', `"${input.range.to}" is not an IPv4 or IPv6 address`);
    if (from.kind() !== to.kind()) throw invalidField('/body/range/to', 'both ends of a range must be of the same family (IPv4 or IPv6)');
    if (compare(from, to) > 0) throw invalidField('/body/range/to', 'must not be lower than `from`');
    return { kind: 'range', addresses: null, rangeFrom: from.toString(), rangeTo: to.toString(), cidr: null };
  }
  const cidr = normalizeCidr(input.cidr!);
  if (!cidr) throw invalidField('/body/cidr', `"${input.cidr}" is not a CIDR block such as 10.0.0.0/8 or 2001:db8::/32`);
  return { kind: 'cidr', addresses: null, rangeFrom: null, rangeTo: null, cidr };
}

async function lock(tx: Transaction, accountId: string) {
  await tx.execute(sql`select pg_advisory_xact_lock(${ALLOWLIST_LOCK}, hashtext(${accountId}))`);
}

function assertNotLockedOut(rules: Rule[], ctx: RequestContext, action: string) {
  if (!isAllowed(rules, ctx.ip)) {
    throw conflict('would_lock_out', `${action} would lock you out: your address ${ctx.ip} would not be trusted. Add it first.`);
  }
}

async function notifyAdministrators(deps: AppDeps, ctx: RequestContext, what: string, rules: Rule[], enabled: boolean) {
  // The administrators, and whoever made the change (who may be a custom role with security:manage).
  const [caller] = await deps.db.select({ email: users.email, state: users.state }).from(users).where(eq(users.id, ctx.userId));
  const to = [...new Set([...(await administratorEmails(deps.db, ctx.accountId)), ...(caller?.state === 'active' ? [caller.email] : [])])];
  if (!to.length) return;
  await deps.mailer.send({
    to,
    subject: 'Coffer: your IP restrictions changed',
    text: [
      `The IP restrictions of your Coffer account changed: ${what}.`,
      '',
      `Changed from ${ctx.ip} at ${deps.clock.now().toISOString()} (request ${ctx.requestId}).`,
      `IP restrictions are now ${enabled ? 'ON' : 'OFF'}. Trusted addresses:`,
      ...(rules.length ? rules.map((r) => `  - ${describe(r)}`) : ['  (none)']),
      '',
      'If you did not expect this change, review Settings > Security > IP Restrictions and the security audit.',
    ].join('\n'),
  });
}

async function settings(deps: AppDeps, ctx: RequestContext, db: Tx = deps.db) {
  const row = await accountSecurityOf(db, ctx.accountId);
  const [count] = await db.select({ n: sql<number>`count(*)::int` }).from(ipRules).where(eq(ipRules.accountId, ctx.accountId));
  const body: IpAllowlist = { enabled: row.ipAllowlistEnabled, entries: count!.n, your_ip: normalizeAddress(ctx.ip) ?? ctx.ip, updated_at: row.updatedAt.toISOString() };
  return { allowlist: body, version: row.allowlistVersion };
}

export function getAllowlist(deps: AppDeps, ctx: RequestContext) {
  return settings(deps, ctx);
}

export async function setAllowlistEnabled(deps: AppDeps, ctx: RequestContext, enabled: boolean, expected: number | undefined) {
  const result = await deps.db.transaction(async (tx) => {
    await lock(tx, ctx.accountId);
    const current = await accountSecurityOf(tx, ctx.accountId);
    checkVersion(expected, current.allowlistVersion, 'The IP allowlist');
    const rules = await tx.select().from(ipRules).where(eq(ipRules.accountId, ctx.accountId));
    if (enabled === current.ipAllowlistEnabled) return { rules, changed: false };
    if (enabled) assertNotLockedOut(rules, ctx, 'Enabling IP restrictions');
    await tx
      .update(accountSecurity)
      .set({ ipAllowlistEnabled: enabled, allowlistVersion: sql`${accountSecurity.allowlistVersion} + 1`, updatedAt: deps.clock.now() })
      .where(eq(accountSecurity.accountId, ctx.accountId));
    await audit(deps, ctx, {
      type: 'ip_allowlist_changed', description: `IP restrictions ${enabled ? 'enabled' : 'disabled'}`, details: { enabled },
    }, tx);
    return { rules, changed: true };
  });
  if (result.changed) await notifyAdministrators(deps, ctx, `IP restrictions were ${enabled ? 'enabled' : 'disabled'}`, result.rules, enabled);
  return settings(deps, ctx);
}

export async function listEntries(deps: AppDeps, ctx: RequestContext, page: PageRequest) {
  const where = [eq(ipRules.accountId, ctx.accountId)];
  if (page.after) where.push(sql`${ipRules.id} > ${page.after}`);
  const rows = await deps.db.select().from(ipRules).where(and(...where)).orderBy(asc(ipRules.id)).limit(page.limit + 1);
  const more = rows.length > page.limit;
  const data = (more ? rows.slice(0, page.limit) : rows).map(serializeEntry);
  return { data, next_cursor: more ? encodeCursor(data[data.length - 1]!.id) : null };
}

async function find(db: Tx, ctx: RequestContext, id: string): Promise<Row> {
  const [row] = await db.select().from(ipRules).where(and(eq(ipRules.accountId, ctx.accountId), eq(ipRules.id, id)));
  if (!row) throw notFound('IP allowlist entry', id);
  return row;
}

export async function getEntry(deps: AppDeps, ctx: RequestContext, id: string) {
  const row = await find(deps.db, ctx, id);
  return { entry: serializeEntry(row), version: row.version };
}

export async function createEntry(deps: AppDeps, ctx: RequestContext, input: IpAllowlistEntryCreate) {
  const def = parseDefinition(input, true)!;
  const now = deps.clock.now();
  const { row, rules, enabled } = await deps.db.transaction(async (tx) => {
    await lock(tx, ctx.accountId);
    const [row] = await tx
      .insert(ipRules)
      .values({ id: newId('ipr'), accountId: ctx.accountId, description: input.description ?? null, ...def, createdAt: now, updatedAt: now })
      .returning();
    await audit(deps, ctx, {
      type: 'ip_allowlist_changed', description: `Trusted IP addresses added: ${describe(def)}${input.description ? ` (${input.description})` : ''}`,
      details: { action: 'created', entry: serializeEntry(row!) },
    }, tx);
    const rules = await tx.select().from(ipRules).where(eq(ipRules.accountId, ctx.accountId));
    return { row: row!, rules, enabled: (await accountSecurityOf(tx, ctx.accountId)).ipAllowlistEnabled };
  });
  await notifyAdministrators(deps, ctx, `trusted addresses added: ${describe(def)}`, rules, enabled);
  return { entry: serializeEntry(row), version: row.version };
}

export async function updateEntry(deps: AppDeps, ctx: RequestContext, id: string, input: IpAllowlistEntryUpdate, expected: number | undefined) {
  const def = parseDefinition(input, false);
  const { row, rules, enabled, before } = await deps.db.transaction(async (tx) => {
    await lock(tx, ctx.accountId);
    const current = await find(tx, ctx, id);
    checkVersion(expected, current.version, `IP allowlist entry ${id}`);
    const enabled = (await accountSecurityOf(tx, ctx.accountId)).ipAllowlistEnabled;
    const others = await tx.select().from(ipRules).where(and(eq(ipRules.accountId, ctx.accountId), sql`${ipRules.id} <> ${id}`));
    if (enabled && def) assertNotLockedOut([...others, def], ctx, 'This change');
    const [row] = await tx
      .update(ipRules)
      .set({ ...(def ?? {}), ...(input.description !== undefined ? { description: input.description } : {}), version: current.version + 1, updatedAt: deps.clock.now() })
      .where(and(eq(ipRules.accountId, ctx.accountId), eq(ipRules.id, id)))
      .returning();
    await audit(deps, ctx, {
      type: 'ip_allowlist_changed', description: `Trusted IP addresses changed: ${describe(current)} → ${describe(row!)}`,
      details: { action: 'updated', before: serializeEntry(current), after: serializeEntry(row!) },
    }, tx);
    return { row: row!, rules: [...others, row!], enabled, before: current };
  });
  await notifyAdministrators(deps, ctx, `trusted addresses changed from ${describe(before)} to ${describe(row)}`, rules, enabled);
  return { entry: serializeEntry(row), version: row.version };
}

export async function deleteEntry(deps: AppDeps, ctx: RequestContext, id: string, expected: number | undefined) {
  const { rules, enabled, removed } = await deps.db.transaction(async (tx) => {
    await lock(tx, ctx.accountId);
    const current = await find(tx, ctx, id);
    checkVersion(expected, current.version, `IP allowlist entry ${id}`);
    const enabled = (await accountSecurityOf(tx, ctx.accountId)).ipAllowlistEnabled;
    const others = await tx.select().from(ipRules).where(and(eq(ipRules.accountId, ctx.accountId), sql`${ipRules.id} <> ${id}`));
    if (enabled) assertNotLockedOut(others, ctx, 'Removing this entry');
    await tx.delete(ipRules).where(and(eq(ipRules.accountId, ctx.accountId), eq(ipRules.id, id)));
    await audit(deps, ctx, {
      type: 'ip_allowlist_changed', description: `Trusted IP addresses removed: ${describe(current)}`,
      details: { action: 'deleted', entry: serializeEntry(current) },
    }, tx);
    return { rules: others, enabled, removed: current };
  });
  await notifyAdministrators(deps, ctx, `trusted addresses removed: ${describe(removed)}`, rules, enabled);
}
