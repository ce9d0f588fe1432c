// The CLI's long work against a live server (workers running) and the Dropbox emulator: a backup
// followed to its end, an export waited for and downloaded (resumed after an interruption, checked
// against its published SHA-256), a restore; every `--json` line checked against the API's schemas.
import t from 'tap';
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, jsonLines, onTerminal, schemaErrors } from '../helpers/cli.ts';
import { startLiveTeam } from '../helpers/live-team.ts';

const MiB = 1024 * 1024;
const BIG = Buffer.from(Array.from({ length: 3 * MiB + 11 }, (_, i) => (i * 7 + (i >> 12)) % 251));
const FILES = { '/Reports/q1.txt': 'first quarter', '/Reports/q2.txt': 'second quarter', '/big.bin': BIG };
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

t.test('backup --wait, exports create --wait --download, jobs download (resumed), restores create --wait: JSON lines that match the API schemas', async (t) => {
  const team = await startLiveTeam(t, FILES);
  const { entityId } = await team.connect();
  const dir = await mkdtemp(join(tmpdir(), 'coffer-cli-jobs-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const env = { ...team.env, XDG_CONFIG_HOME: dir };

  // coffer backup ENTITY --wait --json: progress lines, then the finished run.
  const backedUp = await cli(env, ['backup', entityId, '--wait', '--json']);
  t.equal(backedUp.code, 0, backedUp.stderr);
  const backupLines = jsonLines(backedUp.stdout);
  t.ok(backupLines.length >= 2);
  t.same(backupLines.slice(0, -1).map((l) => l.type), backupLines.slice(0, -1).map(() => 'progress'), 'progress lines first');
  const summary = backupLines.at(-1)!;
  t.equal(summary.type, 'summary');
  t.equal(summary.run.state, 'succeeded');
  t.equal(summary.run.entity_id, entityId);
  for (const line of backupLines) t.same(schemaErrors('getBackupRun', line.run), [], `${line.type}: the run is the API's BackupRun`);
  const runId: string = summary.run.id;

  // coffer exports create … --wait --download FILE --json
  const archive = join(dir, 'backup.zip');
  const exported = await cli(env, ['exports', 'create', '--source.snapshot-id', runId, '--destination.type', 'download', '--wait', '--download', archive, '--json']);
  t.equal(exported.code, 0, exported.stderr);
  const lines = jsonLines(exported.stdout);
  t.equal(lines[0]!.type, 'created');
  t.same(schemaErrors('createExport', lines[0]!.job), [], 'created: the 202 body');
  const jobLines = lines.filter((l) => l.job && l.type !== 'created');
  t.ok(jobLines.length >= 2, 'progress and a summary of the job');
  for (const line of jobLines) t.same(schemaErrors('getJob', line.job), [], `${line.type}: the job is the API's Job`);
  const job = jobLines.at(-1)!.job;
  t.equal(job.state, 'succeeded');
  const downloadProgress = lines.filter((l) => l.phase === 'download');
  t.ok(downloadProgress.length >= 1, 'download progress lines');
  t.equal(downloadProgress.at(-1)!.bytes_done, job.download.size);
  const saved = lines.at(-1)!;
  t.same(saved, { type: 'summary', download: { path: archive, size: job.download.size, sha256: job.download.sha256, resumed_from: 0, verified: true } });
  const bytes = await readFile(archive);
  t.equal(sha256(bytes), job.download.sha256, 'the file is the archive the job published');
  t.equal(bytes.subarray(0, 2).toString(), 'PK');
  t.ok(bytes.includes(BIG.subarray(0, 4096)), 'holding the backed-up file');
  await t.rejects(stat(`${archive}.part`), { code: 'ENOENT' }, 'no .part left behind');

  // Interrupted earlier (Ctrl-C): FILE.part holds the first bytes; the same command continues it.
  const again = join(dir, 'again.zip');
  await writeFile(`${again}.part`, bytes.subarray(0, MiB + 5));
  const resumed = await cli(env, ['jobs', 'download', job.id, again, '--json']);
  t.equal(resumed.code, 0, resumed.stderr);
  t.same(jsonLines(resumed.stdout).at(-1), { type: 'summary', download: { path: again, size: bytes.length, sha256: job.download.sha256, resumed_from: MiB + 5, verified: true } });
  t.ok((await readFile(again)).equals(bytes), 'resumed: the same archive');

  // A .part that is not the start of this archive: the checksum catches it; nothing is kept.
  const corrupt = join(dir, 'corrupt.zip');
  const wrong = Buffer.from(bytes.subarray(0, MiB));
  wrong[100] = wrong[100]! ^ 0xff;
  await writeFile(`${corrupt}.part`, wrong);
  const refused = await cli(env, ['jobs', 'download', job.id, corrupt]);
  t.equal(refused.code, 1, 'exit 1');
  t.match(refused.stderr, /does not match its published SHA-256/);
  await t.rejects(stat(corrupt), { code: 'ENOENT' });
  await t.rejects(stat(`${corrupt}.part`), { code: 'ENOENT' }, 'the bad partial file is removed, so running again starts clean');

  // The connection drops in the middle of the download: the CLI asks for the rest with Range.
  const ranges: (string | undefined)[] = [];
  let cut = false;
  const proxy = createServer((req, res) => {
    if (req.url?.endsWith('/download')) ranges.push(req.headers.range);
    const upstream = httpRequest(`${team.api.url}${req.url}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode!, up.headers);
      if (req.url?.endsWith('/download') && !cut) {
        cut = true;
        let sent = 0;
        up.on('data', (chunk: Buffer) => {
          if (sent >= MiB) return;
          sent += chunk.length;
          // Cut only once the first MiB has left Node's buffers (on a loaded machine the client reads
          // slowly, and destroying earlier would discard bytes still queued here).
          if (sent >= MiB) res.write(chunk, () => setTimeout(() => res.socket?.destroy(), 50));
          else res.write(chunk);
        });
        return;
      }
      up.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  t.teardown(() => { proxy.closeAllConnections(); proxy.close(); });
  const viaProxy = join(dir, 'proxied.zip');
  const dropped = await cli({ ...env, COFFER_API_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` }, ['jobs', 'download', job.id, viaProxy, '--json']);
  t.equal(dropped.code, 0, dropped.stderr);
  t.equal(ranges.length, 2, 'two requests: the cut one and the resumption');
  t.equal(ranges[0], undefined);
  t.match(ranges[1], /^bytes=\d+-$/);
  t.ok(Number(/\d+/.exec(ranges[1]!)![0]) >= MiB, 'the second asks only for what is missing');
  t.ok((await readFile(viaProxy)).equals(bytes), 'and the archive is whole and verified');

  // coffer restores create … --wait --json
  const restored = await cli(env, ['restores', 'create', '--source.snapshot-id', runId, '--source.items', '/reports', '--destination.mode', 'non_destructive', '--wait', '--json']);
  t.equal(restored.code, 0, restored.stderr);
  const restoreLines = jsonLines(restored.stdout);
  const restoreJob = restoreLines.at(-1)!.job;
  t.equal(restoreJob.state, 'succeeded');
  t.equal(restoreJob.items_done, 2);
  for (const line of restoreLines.filter((l) => l.type !== 'created')) t.same(schemaErrors('getJob', line.job), []);
  t.equal(team.emu.state.readFile(team.member, `${restoreJob.destination.path}/Reports/q1.txt`).toString(), 'first quarter', 'the file is back in Dropbox');

  // coffer jobs watch on a terminal, for that restore: the bar drawn in place, items and bytes of total.
  const watched = await onTerminal(env, ['jobs', 'watch', restoreJob.id]);
  t.equal(watched.code, 0, watched.output);
  t.match(watched.output, new RegExp(`\\r\\x1b\\[2K\\[=+\\] ${restoreJob.id} succeeded 100% 2/2 items`), 'the restore\'s bar on a terminal');

  // Without --json, on a pipe: readable progress on stderr, the result as key/value on stdout.
  const human = await cli(env, ['backup', entityId, '--wait']);
  t.equal(human.code, 0, human.stderr);
  t.match(human.stderr, /backup succeeded: \d+ items/);
  t.match(human.stdout, /^state\s+succeeded$/m);

  // Misuse: usage errors (exit 2), and --wait where it means nothing.
  t.equal((await cli(env, ['backup'])).code, 2);
  t.equal((await cli(env, ['tags', 'list', '--wait'])).code, 2);
  t.equal((await cli(env, ['exports', 'create', '--source.snapshot-id', runId, '--destination.type', 'download', '--download', 'x.zip'])).code, 2, '--download without --wait');
  const notActive = await cli(env, ['backup', 'ent_00000000000000000000000000', '--wait']);
  t.equal(notActive.code, 4, 'an unknown entity: exit 4');
});
