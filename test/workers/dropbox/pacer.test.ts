// DropboxPacer: a subject that never sees a 429 is never slowed; after a 429 every call of that
// subject waits out Retry-After and then goes at half the pace it had, rising again while no 429
// comes; subjects (members, teams) do not affect one another; an operator ceiling always holds.
// And a real backup under the emulator's per-member rate limit gets far fewer 429s with it.
import t from 'tap';
import { DropboxPacer } from '#workers/dropbox/pacer.ts';
import { startBackupFixture } from '../../helpers/backup-fixture.ts';

/** A clock that only moves when someone sleeps (sequential callers). */
function fakeTime() {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance: (ms: number) => {
      now += ms;
    },
    sleeps,
  };
}

t.test('no 429, no waiting', async (t) => {
  const time = fakeTime();
  const pacer = new DropboxPacer({ now: time.now, sleep: time.sleep });
  for (let i = 0; i < 1000; i++) await pacer.acquire('team:a');
  t.same(time.sleeps, []);
  t.equal(pacer.rateOf('team:a'), Infinity);
});

t.test('a 429 makes every call of the subject wait, then halves its pace; other subjects go on', async (t) => {
  const time = fakeTime();
  const pacer = new DropboxPacer({ now: time.now, sleep: time.sleep });
  for (let i = 0; i < 100; i++) {
    await pacer.acquire('team:member:a');
    time.advance(50); // 20 calls per second
  }
  pacer.penalize('team:member:a', 3000);
  const before = time.now();
  await pacer.acquire('team:member:b');
  t.equal(time.now(), before, 'another member is not held back');
  await pacer.acquire('team:member:a');
  t.equal(time.now() - before, 3000, 'the first call after the 429 waits out Retry-After');
  t.equal(pacer.rateOf('team:member:a'), 10, 'capped at half the 20 calls/s it was making');
  const start = time.now();
  for (let i = 0; i < 10; i++) await pacer.acquire('team:member:a');
  t.equal(time.now() - start, 1000, 'then 10 calls per second (100 ms apart)');

  time.advance(10_000);
  await pacer.acquire('team:member:a');
  t.equal(pacer.rateOf('team:member:a'), 12.5, 'the cap rises 25% per 10 s without a 429');
  time.advance(400_000);
  await pacer.acquire('team:member:a');
  t.equal(pacer.rateOf('team:member:a'), Infinity, 'and is lifted in the end');
});

t.test('the operator ceiling holds for every subject', async (t) => {
  const time = fakeTime();
  const pacer = new DropboxPacer({ now: time.now, sleep: time.sleep, maxPerSecond: 4 });
  const start = time.now();
  for (let i = 0; i < 9; i++) await pacer.acquire('team:x');
  t.equal(time.now() - start, 2000, '9 calls at 4 per second take 2 s');
});

t.test('concurrent callers wait together, then queue behind one another at the capped pace', async (t) => {
  // A clock that stands still while the callers queue: each acquire answers the start it reserved.
  const now = 1_000_000;
  const pacer = new DropboxPacer({ now: () => now, sleep: async () => {} });
  for (let i = 0; i < 20; i++) await pacer.acquire('s'); // 20 calls within a second
  pacer.penalize('s', 300);
  t.equal(pacer.rateOf('s'), 10);
  const started = await Promise.all(Array.from({ length: 6 }, () => pacer.acquire('s')));
  t.same(started.map((at) => at - now), [300, 400, 500, 600, 700, 800], 'nobody before the penalty ends, then one every 100 ms');

  const fresh = new DropboxPacer();
  fresh.penalize('s', 10);
  t.equal(fresh.rateOf('s'), Infinity, 'a 429 with none of our calls to measure: only the wait applies');
});

t.test('a backup under the per-member rate limit: far fewer 429s with the shared wait', async (t) => {
  const f = await startBackupFixture(t);
  const s = f.emu.state;
  const bob = s.addMember({ email: 'bob@coffer-emu.test' });
  for (let i = 0; i < 40; i++) s.putFile(bob, `/f/${i}.txt`, `file ${i}\n`.repeat(i + 1));
  const entityId = await f.memberEntity(bob);
  f.emu.faults.rateLimit = { perSecond: 8, retryAfter: 1 };
  let tooMany = 0;
  let calls = 0;
  const counting = async (input: string | URL | Request, init?: RequestInit) => {
    const res = await fetch(input, init);
    calls++;
    if (res.status === 429) tooMany++;
    return res;
  };
  const realTime = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const r = await f.backup(entityId, { zipMaxBytes: 0, concurrency: 8, fetch: counting, pacer: new DropboxPacer(), sleep: realTime });
  t.equal(r.outcome, 'succeeded');
  if (r.outcome === 'succeeded') await f.assertSnapshot(t, entityId, r.runId, f.dropboxState(bob.homeNsId), 'rate-limited run');
  // Without the pacer the same run got 33 answers 429 of 75 requests; with it 8 on a quiet machine.
  // Real timers on a loaded machine let a few more through, so the bound is half of the unpaced count.
  t.ok(tooMany <= 16, `${tooMany} answers were 429 out of ${calls} requests`);
});
