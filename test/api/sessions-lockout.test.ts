// Sign-in lockout (5 failures in 15 minutes, back-off) and the housekeeping of sessions, tokens
// and throttles; the rest of sessions is in sessions.test.ts.
import t from 'tap';
import { startTestApp } from '../helpers/app.ts';
import { PASSWORD, signIn } from '../helpers/security.ts';
import { LOCKOUT_THRESHOLD } from '../../api/resources/sessions/lockout.ts';

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

t.test('attack: 40 parallel wrong passwords are all evaluated', async (t) => {
  const api = await startTestApp(t, { start: new Date('2026-04-01T10:00:00Z') });
  const admin = await api.signUp();
  const email = admin.body.user.email;
  const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => signIn(api, email, `wrong password ${i}!`)));
  const statuses = answers.map((r) => r.status).sort();
  t.same(statuses, [...Array(LOCKOUT_THRESHOLD).fill(401), ...Array(40 - LOCKOUT_THRESHOLD).fill(429)], 'only 5 passwords were checked');
  for (const refused of answers.filter((r) => r.status === 429)) t.equal(refused.body.code, 'login_locked');
  const locked = await signIn(api, email, PASSWORD);
  t.equal(locked.status, 429, 'the right password afterwards meets the lock');
  t.equal(locked.headers.get('retry-after'), String(15 * 60));
  const [row] = await api.database.sql`select failures, lockouts from login_throttle`;
  t.same({ ...row }, { failures: 0, lockouts: 1 }, 'one lockout, not several');
});

t.test('attack: 25 parallel wrong passwords and the right one', async (t) => {
  const api = await startTestApp(t, { start: new Date('2026-04-01T10:00:00Z') });
  const admin = await api.signUp();
  const email = admin.body.user.email;
  const answers = await Promise.all([
    ...Array.from({ length: 25 }, (_, i) => signIn(api, email, `wrong password ${i}!`)),
    signIn(api, email, PASSWORD),
  ]);
  const count = (status: number) => answers.filter((r) => r.status === status).length;
  t.ok(count(401) + count(201) <= LOCKOUT_THRESHOLD, `at most 5 passwords checked (${count(401)} wrong, ${count(201)} right)`);
  t.ok(count(201) <= 1);
  t.equal(count(429), 26 - count(401) - count(201), 'every other attempt was refused unchecked');
});

t.test('a right password refused for another reason does not count as a failure', async (t) => {
  const api = await startTestApp(t, { start: new Date('2026-04-01T10:00:00Z') });
  const admin = await api.signUp();
  const email = admin.body.user.email;
  t.equal((await api.request('PATCH', '/v1/security/policy', { key: admin.key, body: { password_expiration_days: 30 } })).status, 200);
  api.clock.advance(31 * 86_400_000);
  for (let i = 0; i < LOCKOUT_THRESHOLD + 2; i++) {
    const expired = await signIn(api, email, PASSWORD);
    t.equal(expired.status, 403, `attempt ${i + 1}`);
    t.equal(expired.body.code, 'password_expired');
  }
  const [row] = await api.database.sql`select failures, locked_until from login_throttle`;
  t.same({ ...row }, { failures: 0, locked_until: null });
  for (let i = 0; i < LOCKOUT_THRESHOLD - 1; i++) t.equal((await signIn(api, email, 'wrong password!!')).status, 401);
  const fifth = await signIn(api, email, 'wrong password!!');
  t.equal(fifth.status, 401);
  t.equal(fifth.body.locked_until, new Date(api.clock.now().getTime() + 15 * 60_000).toISOString(), 'the fifth failure locks, and says until when');
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
