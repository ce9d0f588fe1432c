// A real Coffer API on a real socket over a fresh database, for tests that speak HTTP.
import type { Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { buildApp, type App } from '../../api/app.ts';
import { loadConfig, type Config, type RateLimits } from '../../api/config.ts';
import { ManualClock } from '../../api/clock.ts';
import type { AppDeps } from '../../api/deps.ts';
import { MasterKeyring } from '../../workers/storage/keys.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { startQueue } from '../../workers/queue.ts';
import { startWorkers } from '../../workers/jobs/index.ts';
import { createMailer, type MailMessage, type Mailer } from '../../api/mail/mailer.ts';
import { Background } from '../../api/background.ts';
import type { Logger } from 'pino';
import { recordExchange, runLogger } from './secret-record.ts';

export interface TestApp {
  app: App;
  url: string;
  deps: AppDeps;
  clock: ManualClock;
  database: TestDatabase;
  /** Messages handed to the mailer when no SMTP server is configured (see startSmtpServer for a real one). */
  sentMail: MailMessage[];
  /** fetch relative to the app, with JSON in and out; resolves once the work the request left in the background (mail) is done. */
  request(method: string, path: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<TestResponse>;
  /** Waits for the background work of requests made without `request()` (raw fetch, the SDK). */
  settled(): Promise<void>;
  /** Both steps of sign-up (the activation link is taken from its email, which no test sees). */
  signUp(overrides?: Partial<{ name: string; email: string; password: string; region: string; kind: 'standard' | 'partner' }>): Promise<SignedUp>;
}

export interface TestResponse {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export interface SignedUp {
  key: string;
  accountId: string;
  userId: string;
  keyId: string;
  body: any;
}

export interface TestAppOptions {
  config?: Partial<Config>;
  /** Run a real pg-boss queue and the workers against the test database. */
  workers?: boolean;
  /** Add routes before the app starts (e.g. one that throws). */
  extend?: (app: App) => void;
  start?: Date;
  /** Replaces the mailer; by default mail goes to `config.smtpUrl` when set, else into `sentMail`. */
  mailer?: Mailer;
  /**
   * Log here, as api/server.ts does (services, workers and the request log). By default nothing is
   * logged, except to the run's log file when `npm test` keeps one for its secret scan.
   */
  log?: Logger;
}

let counter = 0;

function parseOrNot(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Tests sign up and sign in far more often from 127.0.0.1 than any person would; the limits of
 * api/plugins/throttle.ts are tested with their own values (config.rateLimits).
 */
export const RELAXED_RATE_LIMITS: RateLimits = {
  authFailuresPerIp: 100_000, signInPerIp: 100_000, signInPerEmail: 100_000, signUpPerIp: 100_000, signUpPerEmail: 100_000,
  passwordResetPerIp: 100_000, passwordResetPerEmail: 100_000,
};

const ACTIVATION_TOKEN = /[?&]token=(cfa_[0-9A-Za-z]{32})/;

export async function startTestApp(t: Test, opts: TestAppOptions = {}): Promise<TestApp> {
  const database = await freshDatabase(t);
  const clock = new ManualClock(opts.start ?? new Date());
  const config: Config = { ...loadConfig({}), rateLimits: RELAXED_RATE_LIMITS, ...opts.config };
  const sentMail: MailMessage[] = [];
  const quiet = { info: () => {}, error: (obj: object, msg: string) => console.error(msg, obj) };
  const delivering: Mailer = opts.mailer ?? (config.smtpUrl
    ? createMailer(config, quiet)
    : { send: async (m) => { sentMail.push(m); }, close: async () => {} });
  t.teardown(() => delivering.close());
  // signUp() takes the activation email of the address it signs up, so tests see only their own mail.
  const activations = new Map<string, string>();
  const mailer: Mailer = {
    async send(m) {
      const to = typeof m.to === 'string' ? m.to.toLowerCase() : undefined;
      const token = ACTIVATION_TOKEN.exec(m.text)?.[1];
      if (to && token && activations.has(to)) activations.set(to, token);
      else await delivering.send(m);
    },
    close: () => delivering.close(),
  };
  // The run's log file (scripts/secret-scan.ts) gets every line; warnings and errors still reach
  // the console, where a failing test's output shows them.
  const fileLog = opts.log ? undefined : runLogger();
  const log = opts.log ?? fileLog;
  const deps: AppDeps = {
    config,
    log: opts.log ?? {
      info: (obj: object, msg: string) => fileLog?.info(obj, msg),
      warn: (obj: object, msg: string) => { fileLog?.warn(obj, msg); console.error(msg, obj); },
      error: (obj: object, msg: string) => { fileLog?.error(obj, msg); console.error(msg, obj); },
    },
    db: database.db,
    sql: database.sql,
    clock,
    keyring: new MasterKeyring([{ version: 1, key: randomBytes(32) }]),
    mailer,
    background: new Background(quiet),
  };
  const settled = () => deps.background!.settled();
  if (opts.workers) {
    const boss = await startQueue({ connectionString: database.url, runsWorkers: true, onError: () => {} });
    deps.boss = boss;
    const workers = await startWorkers(boss, deps, { pollingIntervalSeconds: 0.5 });
    t.teardown(async () => {
      await workers.stop();
      await boss.stop({ graceful: false, close: true });
    });
  }
  deps.dropboxPolicy = { baseDelayMs: 5, maxDelayMs: 50 };
  const app = await buildApp(deps, log ? { logger: log } : {});
  opts.extend?.(app);
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  t.teardown(() => app.close());

  const request: TestApp['request'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    if (o.key) headers.authorization = `Bearer ${o.key}`;
    let body: string | undefined;
    if (o.body !== undefined) {
      body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    const res = await fetch(url + path, { method, headers, body });
    // An accepted event stream stays open for as long as the client listens: its status and
    // headers are the answer, so stop listening at once.
    if (res.headers.get('content-type')?.startsWith('text/event-stream')) {
      await res.body?.cancel();
      return { status: res.status, headers: res.headers, body: undefined, text: '' };
    }
    const text = await res.text();
    await settled();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    recordExchange(o.key, typeof o.body === 'string' ? parseOrNot(o.body) : o.body, parsed, text);
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  const signUp: TestApp['signUp'] = async (overrides = {}) => {
    counter += 1;
    const email = (overrides.email ?? `admin${counter}-${randomBytes(3).toString('hex')}@example.test`).trim().toLowerCase();
    activations.set(email, '');
    try {
      const res = await request('POST', '/v1/accounts', {
        body: { name: `Account ${counter}`, password: 'correct horse battery staple', region: 'eu-west-1', ...overrides, email },
      });
      if (res.status !== 202) throw new Error(`sign-up failed: ${res.status} ${res.text}`);
      const token = activations.get(email);
      if (!token) throw new Error(`sign-up of ${email} sent no activation link (does the address have an account already?)`);
      const activated = await request('POST', '/v1/accounts/activate', { body: { token } });
      if (activated.status !== 201) throw new Error(`activation failed: ${activated.status} ${activated.text}`);
      const b = activated.body;
      return { key: b.api_key.secret, accountId: b.account.id, userId: b.user.id, keyId: b.api_key.id, body: b };
    } finally {
      activations.delete(email);
    }
  };

  return { app, url, deps, clock, database, sentMail, request, settled, signUp };
}
