// Sign-in lockout (5 failures in 15 minutes, back-off) and the housekeeping of sessions, tokens
// and throttles; the rest of sessions is in sessions.test.ts.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { PASSWORD, signIn } from '../helpers/security.ts';

const UA = 'Mozilla/5.0 Chrome/120.0 Safari/537.36';

t.test('lockout after 5 failures in 15 minutes, Retry-After, expiry, back-off, reset on success', async (t) => {
  const api = await startTestApp(t, { start: new Date('2026-04-01T10:00:00Z') });
  const admin = await api.signUp();
  const email = admin.body.user.email;

  for (let i = 1; i <= 5; i++) {
    const res = await signIn(api, email, 'wrong password!!');
    t.equal(res.status, 401, `failure ${i} is a 401`);
    api.clock.advance(1000);
  }
  const locked = await signIn(api, email, PASSWORD);
  t.equal(locked.status, 429, 'even the right password is refused while locked');
  t.equal(locked.body.code, 'login_locked');
  t.equal(locked.headers.get('retry-after'), String(15 * 60 - 1));

  api.clock.advance(15 * 60_000);
  const unlocked = await signIn(api, email, PASSWORD);
  t.equal(unlocked.status, 201, 'the lock expires');

  // After a success the count starts again; a second lockout without a success in between lasts twice as long.
  for (let i = 0; i < 5; i++) await signIn(api, email, 'wrong password!!');
  t.equal((await signIn(api, email, PASSWORD)).headers.get('retry-after'), String(15 * 60), 'first lockout: 15 minutes');
  api.clock.advance(15 * 60_000);
  for (let i = 0; i < 5; i++) await signIn(api, email, 'wrong password!!');
  const longer = await signIn(api, email, PASSWORD);
  t.equal(longer.status, 429);
  t.equal(longer.headers.get('retry-after'), String(30 * 60), 'second lockout: 30 minutes');
  api.clock.advance(30 * 60_000);
  t.equal((await signIn(api, email, PASSWORD)).status, 201);

  // Failures spread over more than 15 minutes do not lock.
  for (let i = 0; i < 4; i++) await signIn(api, email, 'wrong password!!');
  api.clock.advance(15 * 60_000);
  for (let i = 0; i < 4; i++) await signIn(api, email, 'wrong password!!');
  t.equal((await signIn(api, email, PASSWORD)).status, 201, 'four and four in separate windows do not lock');

  // Unknown emails lock the same way (no enumeration through the lockout).
  for (let i = 0; i < 5; i++) await signIn(api, 'ghost@example.test', 'whatever password');
  t.equal((await signIn(api, 'ghost@example.test', 'whatever password')).status, 429);

  const failures = await api.request('GET', '/v1/audit?type=sign_in_failed&limit=100', { key: admin.key });
  t.ok(failures.body.data.length >= 20);
  const lockedEvent = failures.body.data.find((e: { details: { reason: string } }) => e.details.reason === 'locked');
  t.ok(lockedEvent, 'attempts while locked are audited');
  const sample = failures.body.data[0];
  t.equal(sample.status, 'failed');
  t.equal(sample.ip, '127.0.0.1');
  t.equal(sample.user_agent, UA);
  t.equal(sample.performed_by, email);
  const successes = await api.request('GET', '/v1/audit?type=sign_in', { key: admin.key });
  t.equal(successes.body.data.length, 3);
  t.match(successes.body.data[0].description, /^Native sign in \(OK\) Chrome from ip-127\.0\.0\.1$/);
});

t.test('the maintenance job removes ended sessions, old tokens and quiet throttles', async (t) => {
  const { maintenanceJob } = await import('../../workers/jobs/maintenance.ts');
  const api = await startTestApp(t, { start: new Date('2026-04-01T10:00:00Z') });
  const admin = await api.signUp();
  const live = await signIn(api, admin.body.user.email);
  await signIn(api, 'ghost@example.test', 'whatever password');
  await api.request('POST', '/v1/password-reset', { body: { email: admin.body.user.email } });
  api.clock.advance(11 * 3600_000);
  const fresh = await signIn(api, admin.body.user.email);
  api.clock.advance(26 * 3600_000); // the first session ended 25 hours ago, the second 14
  const result = await maintenanceJob(api.deps);
  t.match(result, { sessions_removed: 1, user_tokens_removed: 1, login_throttles_removed: 1 });
  const left = await api.database.sql`select id from sessions`;
  t.same(left.map((r) => r.id), [fresh.body.id]);
  t.not(live.body.id, fresh.body.id);
});
