// The suite-wide secret scan (scripts/secret-scan.ts) finds a secret planted in a log, names the
// file, line and kind without printing the secret, and passes a clean run.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describeScan, scanLogDir } from '../scripts/secret-scan.ts';

const API_KEY = 'cfk_Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z';
const SESSION = 'cfs_Zy4xWv1uTs8rQp5oNm2lKj9iHg6fEd3c';
const DROPBOX = 'sl.emuAAAAAQxY8k2mPqv7LrT0aZ';

async function runDir(secrets: Array<[string, string]>, logs: Record<string, string[]>) {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-scan-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'secrets-101.jsonl'), secrets.slice(0, 2).map(([kind, secret]) => JSON.stringify({ kind, secret }) + '\n').join(''));
  await writeFile(join(dir, 'secrets-102.jsonl'), secrets.slice(2).map(([kind, secret]) => JSON.stringify({ kind, secret }) + '\n').join('') + '{"kind":"cut sh');
  for (const [name, lines] of Object.entries(logs)) await writeFile(join(dir, name), lines.map((l) => l + '\n').join(''));
  return dir;
}

const SECRETS: Array<[string, string]> = [['API key', API_KEY], ['session token', SESSION], ['Dropbox access token', DROPBOX], ['password', 'short']];
const CLEAN = [
  '{"level":30,"msg":"request completed","req":{"url":"/v1/api-keys"},"prefix":"cfk_Ab3dEf6h"}',
  '{"level":30,"msg":"token refreshed","token_prefix":"sl.emuAAAAA"}',
  '{"level":20,"msg":"short appears here and is not a secret (too short to be one)"}',
];

t.test('a clean run passes: recorded secrets are in no log line', async (t) => {
  const dir = await runDir(SECRETS, { 'log-101.ndjson': CLEAN, 'log-102.ndjson': CLEAN.slice(0, 1) });
  const result = await scanLogDir(dir);
  t.same(result, { secrets: 3, files: 2, lines: 4, findings: [] }, 'three secrets (the short one and the cut line are ignored), four lines, nothing found');
  t.match(describeScan(dir, result), ['# secret scan: 3 secrets searched for in 4 log lines of 2 files']);
});

t.test('a planted leak fails the run: file, line, kind, and an excerpt without the secret', async (t) => {
  const dir = await runDir(SECRETS, {
    'log-101.ndjson': CLEAN,
    'log-102.ndjson': [...CLEAN, `{"level":50,"msg":"dropbox refused","err":{"message":"bad token ${DROPBOX}"},"key":"x${API_KEY}"}`],
  });
  const result = await scanLogDir(dir);
  t.equal(result.findings.length, 2);
  t.same(result.findings.map((f) => [f.file, f.line, f.kind]), [['log-102.ndjson', 4, 'Dropbox access token'], ['log-102.ndjson', 4, 'API key']]);
  for (const f of result.findings) {
    t.notOk(f.excerpt.includes(DROPBOX) || f.excerpt.includes(API_KEY), 'the excerpt does not repeat the secret');
    t.match(f.excerpt, f.kind === 'API key' ? /"key":"x«API key: cfk_Ab…»"/ : /bad token «Dropbox access token: sl.emu…»/);
  }
  const printed = describeScan(dir, result);
  t.match(printed[1], `not ok - secret in a log (Dropbox access token): ${join(dir, 'log-102.ndjson')}:4: `);

  // The command a developer re-runs on a kept directory fails too.
  const cli = await promisify(execFile)(process.execPath, ['scripts/secret-scan.ts', dir]).then(() => 0, (e: { code: number }) => e.code);
  t.equal(cli, 1, 'node scripts/secret-scan.ts DIR exits 1');
});

t.test('a secret in the log of another process than the one that recorded it is found', async (t) => {
  const dir = await runDir(SECRETS, { 'log-999.ndjson': [`{"msg":"session ${SESSION}"}`] });
  t.same((await scanLogDir(dir)).findings.map((f) => f.kind), ['session token']);
});
