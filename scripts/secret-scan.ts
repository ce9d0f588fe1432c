// The suite-wide secret scan (`npm test`'s last check). While the suite runs with
// COFFER_TEST_LOG_DIR set, every test process writes its apps' logs to `log-<pid>.ndjson` there and
// every secret the tests created or were given (API keys, session and one-time tokens, webhook and
// TOTP secrets, export links, Dropbox codes and tokens, storage credentials, SAML keys) to
// `secrets-<pid>.jsonl` (test/helpers/secret-record.ts). Afterwards every log line is searched for
// every recorded secret: one pass per file, a regex of the secrets' distinct first 4 characters
// finding candidate positions, their first 8 characters picking the few secrets to compare there.
// `node scripts/secret-scan.ts DIR` scans a kept directory again.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export const LOG_DIR_ENV = 'COFFER_TEST_LOG_DIR';
export const logFileName = (pid: number) => `log-${pid}.ndjson`;
export const secretFileName = (pid: number) => `secrets-${pid}.jsonl`;
/** Shorter values (a test's "x") would match by chance; no real secret is this short. */
export const MIN_SECRET_LENGTH = 8;
const PREFIX_LENGTH = 4;
const KEY_LENGTH = MIN_SECRET_LENGTH;

export interface Finding {
  file: string;
  line: number;
  kind: string;
  /** The line around the secret, the secret itself replaced by its kind and first characters. */
  excerpt: string;
}

export interface ScanResult {
  secrets: number;
  files: number;
  lines: number;
  findings: Finding[];
}

/** The recorded secrets of a run directory: secret → kind (the first kind recorded wins). */
async function loadSecrets(dir: string, names: string[]): Promise<Map<string, string>> {
  const secrets = new Map<string, string>();
  for (const name of names.filter((n) => n.startsWith('secrets-'))) {
    for (const line of (await readFile(join(dir, name), 'utf8')).split('\n')) {
      if (!line) continue;
      try {
        const { kind, secret } = JSON.parse(line) as { kind: string; secret: string };
        if (typeof secret === 'string' && secret.length >= MIN_SECRET_LENGTH && !secrets.has(secret)) secrets.set(secret, String(kind));
      } catch {
        // a line cut short by a killed process
      }
    }
  }
  return secrets;
}

export async function scanLogDir(dir: string): Promise<ScanResult> {
  const names = (await readdir(dir)).sort();
  const secrets = await loadSecrets(dir, names);
  const prefixes = new Set<string>();
  const byKey = new Map<string, string[]>();
  for (const secret of secrets.keys()) {
    prefixes.add(secret.slice(0, PREFIX_LENGTH));
    const k = secret.slice(0, KEY_LENGTH);
    const same = byKey.get(k);
    if (same) same.push(secret);
    else byKey.set(k, [secret]);
  }
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const matcher = prefixes.size ? new RegExp([...prefixes].map(escape).join('|'), 'g') : null;
  const candidates = (text: string, at: number) => byKey.get(text.slice(at, at + KEY_LENGTH)) ?? [];
  // Every secret of the line replaced (not only the one found), then 80 characters either side of it.
  const excerpt = (line: string, at: number, found: string) => {
    let out = '';
    let from = 0;
    let mark = 0;
    for (let i = 0; i < line.length; i++) {
      const secret = candidates(line, i).find((s) => line.startsWith(s, i));
      if (!secret) continue;
      if (i === at && secret === found) mark = out.length + (i - from);
      out += line.slice(from, i) + `«${secrets.get(secret)}: ${secret.slice(0, 6)}…»`;
      from = i + secret.length;
      i = from - 1;
    }
    out += line.slice(from);
    return out.slice(Math.max(0, mark - 80), mark + 120);
  };
  const result: ScanResult = { secrets: secrets.size, files: 0, lines: 0, findings: [] };
  for (const name of names.filter((n) => n.startsWith('log-'))) {
    result.files += 1;
    const text = await readFile(join(dir, name), 'utf8');
    const reported = new Set<string>();
    let lineNo = 1;
    let counted = 0;
    const lineAt = (at: number) => {
      for (let i = text.indexOf('\n', counted); i !== -1 && i < at; i = text.indexOf('\n', i + 1)) {
        lineNo += 1;
        counted = i + 1;
      }
      return lineNo;
    };
    if (matcher) {
      matcher.lastIndex = 0;
      for (let m = matcher.exec(text); m; m = matcher.exec(text)) {
        for (const secret of candidates(text, m.index)) {
          if (!text.startsWith(secret, m.index) || reported.has(secret)) continue;
          reported.add(secret);
          const kind = secrets.get(secret)!;
          const lineStart = text.lastIndexOf('\n', m.index) + 1;
          const lineEnd = text.indexOf('\n', m.index);
          const line = text.slice(lineStart, lineEnd === -1 ? text.length : lineEnd);
          result.findings.push({ file: name, line: lineAt(m.index), kind, excerpt: excerpt(line, m.index - lineStart, secret) });
        }
        matcher.lastIndex = m.index + 1; // overlapping prefixes: a secret may start inside another's prefix
      }
    }
    result.lines += text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  }
  return result;
}

/** What `npm test` prints: a summary line, and each finding with its file, kind and redacted excerpt. */
export function describeScan(dir: string, r: ScanResult): string[] {
  const out = [`# secret scan: ${r.secrets} secrets searched for in ${r.lines} log lines of ${r.files} files`];
  for (const f of r.findings) out.push(`not ok - secret in a log (${f.kind}): ${join(dir, f.file)}:${f.line}: ${f.excerpt}`);
  return out;
}

if (import.meta.main) {
  const dir = process.argv[2];
  if (!dir) {
    console.error('usage: node scripts/secret-scan.ts DIR');
    process.exit(2);
  }
  const result = await scanLogDir(dir);
  for (const line of describeScan(dir, result)) console.log(line);
  process.exit(result.findings.length ? 1 : 0);
}
