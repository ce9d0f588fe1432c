// Master-key rotation: re-seals, under the keyring's current (newest) version, everything stored
// sealed under an older one: every account's wrapped data key and every sealed secret column.
// Each value is rewritten on its own, compare-and-set against the value read (a value the service
// re-sealed meanwhile is already current), so the service keeps running, and a rotation that was
// killed simply runs again: what is done is skipped. `npm run rotate-master-key` drives it.
//
// Not stored, so not rotated: values sealed into links and cookies (the OAuth browser cookie, 1
// hour; the SAML second-factor step, minutes; invoice links in mail) open while the old key stays
// loaded; keys derived from the current master key (audit checkpoints' signing key, report
// download links, idempotency request hashes) change with it.
import type { AppDeps } from './deps.ts';
import { sealedSecretVersion, wrappedKeyVersion } from '../workers/storage/keys.ts';
import { REFRESH_TOKEN_CONTEXT } from '../workers/dropbox/connection.ts';
import { ARCHIVE_KEY_CONTEXT, DESTINATION_SECRET_CONTEXT } from '../workers/recovery/export.ts';
import { KEY_NAME as VERIFICATION_KEY_CONTEXT } from '../workers/recovery/evidence.ts';
import { STORAGE_SECRET_CONTEXT } from './resources/storage/service.ts';
import { SECRET_CONTEXT as WEBHOOK_SECRET_CONTEXT } from './resources/webhooks/service.ts';
import { sealContext as totpContext } from './resources/two-factor/service.ts';
import { SEAL_CONTEXT as IDEMPOTENT_RESPONSE_CONTEXT } from './plugins/idempotency.ts';

export interface SealedColumn {
  table: string;
  column: string;
  /** The primary key's columns (pages go by them). */
  key: string[];
  /** A sealed secret's context, from its row; absent: a wrapped data key (bytea). */
  context?: (row: Record<string, string>) => string;
}

/** Every column holding something sealed under the master key. */
export const SEALED_COLUMNS: SealedColumn[] = [
  { table: 'accounts', column: 'data_key', key: ['id'] },
  { table: 'tasks', column: 'refresh_token', key: ['id'], context: () => REFRESH_TOKEN_CONTEXT },
  { table: 'account_storage', column: 'secret_access_key', key: ['account_id'], context: () => STORAGE_SECRET_CONTEXT },
  { table: 'webhook_endpoints', column: 'secret', key: ['id'], context: () => WEBHOOK_SECRET_CONTEXT },
  { table: 'user_security', column: 'totp_secret', key: ['user_id'], context: (r) => totpContext(r.user_id!) },
  { table: 'jobs', column: 'destination_secret', key: ['id'], context: () => DESTINATION_SECRET_CONTEXT },
  { table: 'jobs', column: 'result_secret', key: ['id'], context: () => ARCHIVE_KEY_CONTEXT },
  { table: 'installation_keys', column: 'sealed_private_key', key: ['name'], context: () => VERIFICATION_KEY_CONTEXT },
  { table: 'idempotency_keys', column: 'response_body', key: ['scope', 'key'], context: () => IDEMPOTENT_RESPONSE_CONTEXT },
];

export interface RotationProgress {
  table: string;
  column: string;
  /** Values re-sealed under the current version in this call. */
  resealed: number;
  /** Values already current. */
  current: number;
}

export interface RotationOptions {
  /** Rows read per page. */
  batchSize?: number;
  /** Wait between pages (spares a busy database). */
  pauseMs?: number;
  /** After each page (the command prints it). */
  onPage?: (p: RotationProgress) => void;
}

/** `s1.` and at least version, nonce and tag (29 bytes) in base64url: not a name that happens to start with `s1.`. */
const SEALED_SHAPE = /^s1\.[A-Za-z0-9_-]{39,}$/;

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Re-seals every stored value not under the current master key version; answers per column. */
export async function rotateMasterKey(deps: Pick<AppDeps, 'sql' | 'keyring'>, opts: RotationOptions = {}): Promise<RotationProgress[]> {
  const out: RotationProgress[] = [];
  for (const spec of SEALED_COLUMNS) out.push(await rotateColumn(deps, spec, opts));
  return out;
}

async function rotateColumn(deps: Pick<AppDeps, 'sql' | 'keyring'>, spec: SealedColumn, opts: RotationOptions): Promise<RotationProgress> {
  const { sql, keyring } = deps;
  const current = keyring.current.version;
  const batch = opts.batchSize ?? 500;
  const progress: RotationProgress = { table: spec.table, column: spec.column, resealed: 0, current: 0 };
  const keys = spec.key.map(ident).join(', ');
  const col = ident(spec.column);
  let after: string[] | null = null;
  for (;;) {
    const params: string[] = [];
    let where = `${col} is not null`;
    if (after) {
      params.push(...after);
      where += ` and (${keys}) > (${spec.key.map((_, i) => `$${i + 1}`).join(', ')})`;
    }
    const rows = await sql.unsafe<Record<string, any>[]>(
      `select ${keys}, ${col} as value from ${ident(spec.table)} where ${where} order by ${keys} limit ${batch}`, params);
    const page: RotationProgress = { ...progress, resealed: 0, current: 0 };
    for (const row of rows) {
      const version = spec.context ? sealedSecretVersion(row.value as string) : wrappedKeyVersion(row.value as Buffer);
      if (version === current) {
        page.current++;
        continue;
      }
      const fresh = spec.context
        ? keyring.sealSecret(keyring.openSecret(row.value as string, spec.context(row)), spec.context(row))
        : keyring.wrapDataKey(keyring.unwrapDataKey(row.value as Buffer));
      const match = spec.key.map((k, i) => `${ident(k)} = $${i + 3}`).join(' and ');
      // Compare-and-set: a value changed meanwhile was written by the service, under the current key.
      await sql.unsafe(`update ${ident(spec.table)} set ${col} = $1 where ${col} = $2 and ${match}`,
        [fresh as never, row.value as never, ...spec.key.map((k) => row[k] as string)]);
      page.resealed++;
    }
    progress.resealed += page.resealed;
    progress.current += page.current;
    if (rows.length) opts.onPage?.(page);
    if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
    if (rows.length < batch) return progress;
    after = spec.key.map((k) => rows[rows.length - 1]![k] as string);
  }
}

/**
 * Where values sealed under another version than the current one are left: `table.column` → count.
 * Also scans every text column of every table for sealed secrets, so that a column sealed later but
 * missing from SEALED_COLUMNS is found (named with `unlisted: true`) before the old key is dropped.
 */
export async function sealedUnderOldKeys(deps: Pick<AppDeps, 'sql' | 'keyring'>): Promise<{ column: string; count: number; unlisted: boolean }[]> {
  const { sql, keyring } = deps;
  const current = keyring.current.version;
  const listed = new Set(SEALED_COLUMNS.map((c) => `${c.table}.${c.column}`));
  const out: { column: string; count: number; unlisted: boolean }[] = [];
  const [dataKeys] = await sql<{ n: number }[]>`select count(*)::int as n from accounts where data_key is not null and get_byte(data_key, 1) <> ${current}`;
  if (dataKeys!.n) out.push({ column: 'accounts.data_key', count: dataKeys!.n, unlisted: false });
  const columns = await sql<{ table_name: string; column_name: string }[]>`
    select c.table_name, c.column_name from information_schema.columns c
      join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name and t.table_type = 'BASE TABLE'
     where c.table_schema = 'public' and c.data_type = 'text' order by 1, 2`;
  for (const { table_name, column_name } of columns) {
    const rows = await sql.unsafe<{ value: string }[]>(`select ${ident(column_name)} as value from ${ident(table_name)} where ${ident(column_name)} like 's1.%'`);
    const old = rows.filter((r) => {
      if (!SEALED_SHAPE.test(r.value)) return false;
      const v = sealedSecretVersion(r.value);
      return v !== null && v !== current;
    }).length;
    if (old) out.push({ column: `${table_name}.${column_name}`, count: old, unlisted: !listed.has(`${table_name}.${column_name}`) });
  }
  return out;
}
