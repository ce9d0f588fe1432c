import t from 'tap';
import { harness, rejection } from './sdk-harness.ts';

t.test('injected faults as the SDK sees them', async (t) => {
  let member = '';
  const h = await harness(t, {}, (emu) => {
    const m = emu.state.addMember({ email: 'f@x.test', admin: true });
    member = m.teamMemberId;
    emu.state.putFile(m, '/file.bin', Buffer.alloc(256 * 1024, 7));
  });
  const dbx = h.asUser(member);
  const { faults } = h.emu;

  faults.add({ route: 'files/list_folder', kind: '429-json', retryAfter: 15 });
  const limited = await rejection(() => dbx.filesListFolder({ path: '' }));
  t.equal(limited.status, 429);
  t.equal(limited.headers.get('retry-after'), '15');
  t.same(limited.error.error, { reason: { '.tag': 'too_many_requests' }, retry_after: 15 });
  t.match(limited.error.error_summary, /^too_many_requests\//);
  t.equal((await dbx.filesListFolder({ path: '' })).status, 200, 'rule consumed after `times` calls');

  faults.add({ route: /^files\/list_folder$/, kind: '429-text', retryAfter: 300, times: 2 });
  for (let i = 0; i < 2; i++) {
    const text = await rejection(() => dbx.filesListFolder({ path: '' }));
    t.equal(text.status, 429);
    t.equal(text.headers.get('retry-after'), '300');
    t.type(text.error, 'string');
  }

  faults.add({ route: 'files/upload', kind: 'too_many_write_operations' });
  const writeOps = await rejection(() => dbx.filesUpload({ path: '/w.txt', contents: Buffer.from('w') }));
  t.equal(writeOps.status, 429);
  t.equal(writeOps.error.error.reason['.tag'], 'too_many_write_operations');

  faults.add({ kind: '500' });
  t.equal((await rejection(() => h.team.teamGetInfo())).status, 500);
  faults.add({ kind: '503' });
  t.equal((await rejection(() => h.team.teamGetInfo())).status, 503);
  faults.add({ kind: 'expired-token' });
  const expired = await rejection(() => h.team.teamGetInfo());
  t.equal(expired.status, 401);
  t.equal(expired.error.error['.tag'], 'expired_access_token');

  faults.add({ route: 'files/download', kind: 'reset' });
  const reset = await rejection(() => dbx.filesDownload({ path: '/file.bin' }));
  t.match(String((reset as unknown as Error).message), /fetch failed|socket|terminated/i);

  faults.add({ route: 'files/download', kind: 'truncate' });
  const truncated = await rejection(() => dbx.filesDownload({ path: '/file.bin' }));
  t.match(String((truncated as unknown as Error).message), /terminated|fetch failed|other side closed/i);
  const whole = await dbx.filesDownload({ path: '/file.bin' });
  t.equal((whole.result as unknown as { fileBinary: Buffer }).fileBinary.length, 256 * 1024);
  t.equal(faults.rules.length, 0);
});

t.test('data-transport exhaustion: 403 invalid_account_type/feature after N upload calls', async (t) => {
  let member = '';
  const h = await harness(t, {}, (emu) => { member = emu.state.addMember({ email: 'dt@x.test', admin: true }).teamMemberId; });
  const dbx = h.asUser(member);
  h.emu.faults.dataTransportLimit = 2;
  await dbx.filesUpload({ path: '/1.txt', contents: Buffer.from('1') });
  await dbx.filesUploadSessionStart({ contents: Buffer.from('2'), close: true });
  const over = await rejection(() => dbx.filesUpload({ path: '/3.txt', contents: Buffer.from('3') }));
  t.equal(over.status, 403);
  t.same(over.error.error, { '.tag': 'invalid_account_type', invalid_account_type: { '.tag': 'feature' } });
  t.equal(over.error.error_summary, 'invalid_account_type/feature/.');
  t.equal(h.emu.counters.dataTransportThisMonth(), 2);
  // Reads are not data transport.
  t.equal((await dbx.filesListFolder({ path: '' })).result.entries.length, 1);
  h.emu.counters.reset();
  t.equal((await dbx.filesUpload({ path: '/4.txt', contents: Buffer.from('4') })).status, 200, 'a new month (counter reset) allows uploads again');
});

t.test('automatic per-caller rate limit and latency', async (t) => {
  let ids: string[] = [];
  // A frozen clock keeps every call in the same one-second window.
  const h = await harness(t, { clock: () => Date.parse('2026-04-01T00:00:00Z') }, (emu) => {
    ids = [emu.state.addMember({ email: 'r1@x.test', admin: true }).teamMemberId, emu.state.addMember({ email: 'r2@x.test' }).teamMemberId];
  });
  await h.team.teamGetInfo();
  h.emu.faults.rateLimit = { perSecond: 3, retryAfter: 2 };
  const one = h.asUser(ids[0]!);
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => one.filesListFolder({ path: '' })));
  const statuses = results.map((r) => (r.status === 'fulfilled' ? r.value.status : (r.reason as { status: number }).status));
  t.same(statuses.slice().sort(), [200, 200, 200, 429, 429]);
  const other = await h.asUser(ids[1]!).filesListFolder({ path: '' });
  t.equal(other.status, 200, 'another member has its own window');
  const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
  t.equal(rejected.reason.headers.get('retry-after'), '2');
  t.equal(rejected.reason.error.error.reason['.tag'], 'too_many_requests');
  h.emu.faults.clear();

  h.emu.faults.latencyMs = 120;
  const started = Date.now();
  await one.filesListFolder({ path: '' });
  t.ok(Date.now() - started >= 110, 'latency applied');
});
