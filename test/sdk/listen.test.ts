// `coffer listen` and `coffer trigger` run as a user runs them (child processes with their own
// config directory) against a live server: a triggered event is forwarded to a local HTTP server,
// signed so that the SDK's verifyWebhookSignature accepts it with the secret listen printed, and
// that secret is the same on the next run (kept in the profile). Also coffer.events.stream()
// reconnecting with Last-Event-ID when its connection drops.
import t, { type Test } from 'tap';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestApp } from '../helpers/app.ts';
import { emitEvent } from '../../api/resources/webhooks/service.ts';
import { verifyWebhookSignature } from '../../sdk/webhooks.ts';
import { Coffer } from '../../sdk/client.ts';

const bin = fileURLToPath(new URL('../../sdk/cli/bin.ts', import.meta.url));

function start(env: Record<string, string>, args: string[]): ChildProcessWithoutNullStreams & { out: { stdout: string; stderr: string } } {
  const { COFFER_API_KEY: _k, COFFER_BASE_URL: _u, COFFER_API_URL: _a, COFFER_PROFILE: _p, ...inherited } = process.env;
  const child = spawn(process.execPath, [bin, ...args], { env: { ...inherited, ...env } }) as ChildProcessWithoutNullStreams & { out: { stdout: string; stderr: string } };
  child.out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => (child.out.stdout += d));
  child.stderr.on('data', (d) => (child.out.stderr += d));
  child.stdin.end();
  return child;
}

function run(env: Record<string, string>, args: string[]) {
  const child = start(env, args);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on('close', (code) => resolve({ code, ...child.out })));
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `coffer listen` until it says it is ready; stopped (and awaited) at teardown, before the server closes. */
async function listen(t: Test, env: Record<string, string>, url: string) {
  const child = start(env, ['listen', '--forward-to', url]);
  const exited = new Promise((resolve) => child.on('close', resolve));
  t.teardown(async () => {
    child.kill('SIGINT');
    await exited;
  });
  await until(`listen ready (${child.out.stderr})`, () => child.out.stderr.includes('Ready'));
  const secret = /signing secret is (whsec_[A-Za-z0-9_-]+)/.exec(child.out.stderr)?.[1];
  return { child, secret: secret!, stop: async () => { child.kill('SIGINT'); await exited; } };
}

t.test('coffer listen forwards a triggered event, signed so that verifyWebhookSignature accepts it; the secret is kept in the profile', async (t) => {
  const api = await startTestApp(t);
  const account = await api.signUp();
  const home = await mkdtemp(join(tmpdir(), 'coffer-listen-'));
  t.teardown(() => rm(home, { recursive: true, force: true }));
  const env = { XDG_CONFIG_HOME: home };
  t.equal((await run(env, ['login', '--api-url', api.url, '--api-key', account.key])).code, 0);

  const received: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  const receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const first = await listen(t, env, url);
  t.match(first.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
  const triggered = await run(env, ['trigger', 'backup.run_failed', '--json']);
  t.equal(triggered.code, 0, triggered.stderr);
  const event = JSON.parse(triggered.stdout);
  t.match(event, { type: 'backup.run_failed', account_id: account.accountId, data: { test: true } });

  const [delivery] = await until('the forwarded event', () => received.length > 0 && received);
  t.equal(delivery!.body, (await api.request('GET', `/v1/events/${event.id}`, { key: account.key })).text, 'the body is the event exactly as the API serves it');
  t.equal(delivery!.headers['coffer-event-id'], event.id);
  t.equal(delivery!.headers['coffer-event-type'], 'backup.run_failed');
  t.equal(delivery!.headers['content-type'], 'application/json');
  t.same(await verifyWebhookSignature(first.secret, delivery!.headers['coffer-signature'], delivery!.body), { valid: true, timestamp: Number(/t=(\d+)/.exec(String(delivery!.headers['coffer-signature']))![1]) });
  t.match(await verifyWebhookSignature('whsec_' + 'x'.repeat(43), delivery!.headers['coffer-signature'], delivery!.body), { valid: false, reason: 'signature_mismatch' }, 'another secret does not verify');
  await until('the forward logged', () => first.child.out.stdout.includes(`backup.run_failed  ${event.id}  → 204`));
  await first.stop();

  const config = JSON.parse(await readFile(join(home, 'coffer/config.json'), 'utf8'));
  t.equal(config.profiles.default.listenSecret, first.secret, 'kept in the profile');
  const second = await listen(t, env, url);
  t.equal(second.secret, first.secret, 'the same secret on the next run');
  await second.stop();

  t.equal((await run(env, ['trigger', 'nope'])).code, 1, 'an unknown event type is refused');
  t.equal((await run(env, ['listen'])).code, 2, 'listen without --forward-to: usage');
});

t.test('coffer.events.stream() reconnects with Last-Event-ID when the connection drops: no event lost or repeated', async (t) => {
  const api = await startTestApp(t);
  const account = await api.signUp();
  const lastEventIds: (string | null)[] = [];
  let streams = 0;
  // The first stream's connection is cut right after its first event.
  const cutting = async (request: Request) => {
    const response = await fetch(request);
    if (!request.url.includes('/v1/events/stream')) return response;
    lastEventIds.push(request.headers.get('last-event-id'));
    if (++streams > 1) return response;
    const reader = response.body!.getReader();
    let seen = '';
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        seen += new TextDecoder().decode(value);
        controller.enqueue(value);
        if (seen.includes('\nid: ') || seen.startsWith('id: ')) {
          await reader.cancel();
          controller.error(new TypeError('terminated'));
        }
      },
    });
    return new Response(body, { status: response.status, headers: response.headers });
  };
  // fetch's pool leaves a connection that never carries a request, which the server's close would
  // wait on until the keep-alive timeout (72 s): the server is closed here, dropping it.
  t.teardown(async () => {
    const closing = api.app.close();
    await new Promise((r) => setTimeout(r, 200));
    api.app.server.closeAllConnections();
    await closing;
  });
  const coffer = new Coffer({ baseUrl: api.url, apiKey: account.key, fetch: cutting });
  const controller = new AbortController();
  t.teardown(() => controller.abort());
  let opened = 0;
  const got: string[] = [];
  const emitted: string[] = [];
  const emit = async () => emitted.push((await api.deps.db.transaction((tx) => emitEvent(api.deps, tx, account.accountId, 'task.disconnected', { n: emitted.length }))).eventId);
  const reading = (async () => {
    for await (const e of coffer.events.stream({ signal: controller.signal, onOpen: () => void opened++ })) {
      got.push(e.id);
      if (got.length === 3) controller.abort();
    }
  })();
  await until('the stream open', () => opened === 1);
  await emit();
  await until('the first event', () => got.length === 1);
  await emit(); // while the stream is down (or reconnecting)
  await until('the reconnection', () => opened === 2);
  await emit();
  await reading;
  t.same(got, emitted, 'every event once, in order');
  t.same(lastEventIds, [null, emitted[0]], 'the reconnection resumed after the last event received');
});
