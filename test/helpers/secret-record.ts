// The test side of the suite-wide secret scan (scripts/secret-scan.ts). With COFFER_TEST_LOG_DIR
// set (scripts/test.ts sets it), test apps log at `trace` to one file per process there, and the
// secrets tests create or are given are recorded next to it; without it both are no-ops.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { LOG_DIR_ENV, MIN_SECRET_LENGTH, logFileName, secretFileName } from '../../scripts/secret-scan.ts';

const dir = process.env[LOG_DIR_ENV] || undefined;
const recorded = new Set<string>();
let logger: Logger | undefined;

/** The process's file logger, or undefined when the run keeps no logs. */
export function runLogger(): Logger | undefined {
  if (!dir) return undefined;
  // Asynchronous writes (pino flushes them when the process exits): a synchronous write per line
  // slowed the suite measurably.
  logger ??= pino({ level: 'trace' }, pino.destination({ dest: join(dir, logFileName(process.pid)), sync: false, minLength: 4096 }));
  return logger;
}

export function recordSecret(kind: string, secret: string | undefined | null): void {
  if (!dir || typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH || recorded.has(secret)) return;
  recorded.add(secret);
  appendFileSync(join(dir, secretFileName(process.pid)), JSON.stringify({ kind, secret }) + '\n');
}

/** Fields of request and response bodies whose string values are secrets. */
const SECRET_FIELDS = new Set([
  'secret', 'token', 'password', 'current_password', 'new_password', 'secret_access_key', 'access_key_secret',
  'account_key', 'private_key', 'client_secret', 'refresh_token', 'access_token', 'credentials_json', 'sas_token',
]);
/** Secrets recognised by their form wherever they appear (api/credentials.ts, the export link). */
const SECRET_FORMS: Array<[string, RegExp]> = [
  ['bearer secret', /\bcf[a-z]_[0-9A-Za-z]{32}\b/g],
  ['webhook secret', /\bwhsec_[A-Za-z0-9_-]{43}/g],
  ['export link token', /\/v1\/downloads\/(job_[0-9a-z]{26}\.\d{1,12}\.[A-Za-z0-9_-]{43})/g],
];

function walk(value: unknown, depth: number): void {
  if (depth > 8 || value === null || typeof value !== 'object') return;
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'string') {
      if (SECRET_FIELDS.has(k)) recordSecret(k, v);
    } else walk(v, depth + 1);
  }
}

/** Records the secrets a request sent (its bearer, its body) and its answer carried (body and text). */
export function recordExchange(bearer: string | undefined, requestBody: unknown, responseBody: unknown, responseText: string): void {
  if (!dir) return;
  recordSecret('bearer secret', bearer);
  walk(requestBody, 0);
  walk(responseBody, 0);
  for (const [kind, form] of SECRET_FORMS) {
    for (const m of responseText.matchAll(form)) recordSecret(kind, m[1] ?? m[0]);
  }
}
