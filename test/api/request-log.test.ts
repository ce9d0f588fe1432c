// The request log: credentials that travel in URLs (signed export links, report link signatures,
// the OAuth code and state of the Dropbox callback) and the Authorization header never reach it.
import t from 'tap';
import { Writable } from 'node:stream';
import pino from 'pino';
import { buildApp } from '../../api/app.ts';
import { redactUrl } from '../../api/request-log.ts';
import { startTestApp } from '../helpers/app.ts';

t.test('redactUrl replaces credential values and keeps the rest', async (t) => {
  t.equal(redactUrl('/v1/downloads/job_01abc.1767225600.c2VjcmV0'), '/v1/downloads/[redacted]');
  t.equal(redactUrl('/v1/downloads/job_01abc.17.mac?x=1'), '/v1/downloads/[redacted]?x=1');
  t.equal(redactUrl('/v1/oauth/dropbox/callback?code=abc&state=xyz&foo=bar'), '/v1/oauth/dropbox/callback?code=[redacted]&state=[redacted]&foo=bar');
  t.equal(redactUrl('/v1/x?TOKEN=1&Code=2&%74oken=3&signature=4&expires=5'), '/v1/x?TOKEN=[redacted]&Code=[redacted]&%74oken=[redacted]&signature=[redacted]&expires=5');
  t.equal(redactUrl('/v1/jobs?limit=5&cursor=abc'), '/v1/jobs?limit=5&cursor=abc');
  t.equal(redactUrl('/v1/x?code'), '/v1/x?code', 'a name without a value has nothing to hide');
});

t.test('attack: tokens and OAuth codes are read back from the request log', async (t) => {
  const api = await startTestApp(t);
  const lines: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  const app = await buildApp(api.deps, { logger: pino({ level: 'info' }, sink) });
  t.teardown(() => app.close());
  const token = `job_${'0'.repeat(26)}.1767225600.${'S'.repeat(43)}`;
  await app.inject({ method: 'GET', url: `/v1/downloads/${token}` });
  await app.inject({ method: 'GET', url: '/v1/oauth/dropbox/callback?code=OAUTHCODE123&state=STATE456' });
  await app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: 'Bearer cfk_SECRETKEY789' } });
  const log = lines.join('');
  t.ok(log.includes('/v1/downloads/[redacted]'), 'the download request is logged, without its token');
  t.ok(log.includes('/v1/oauth/dropbox/callback?code=[redacted]&state=[redacted]'), 'the callback is logged, without code and state');
  t.ok(log.includes('/v1/me'));
  for (const secret of ['S'.repeat(43), 'OAUTHCODE123', 'STATE456', 'SECRETKEY789']) t.notOk(log.includes(secret), `${secret.slice(0, 12)}… is not in the log`);
});
