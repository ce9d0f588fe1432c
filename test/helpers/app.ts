// A real Coffer API on a real socket over a fresh database, for tests that speak HTTP.
import type { Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { buildApp, type App } from '../../api/app.ts';
import { loadConfig, type Config } from '../../api/config.ts';
import { ManualClock } from '../../api/clock.ts';
import type { AppDeps } from '../../api/deps.ts';
import { MasterKeyring } from '../../workers/storage/keys.ts';
import { freshDatabase, type TestDatabase } from './db.ts';
import { startQueue, startWorkers } from '../../workers/queue.ts';
import { createMailer, type MailMessage, type Mailer } from '../../api/mail/mailer.ts';

export interface TestApp {
  app: App;
  url: string;
  deps: AppDeps;
  clock: ManualClock;
  database: TestDatabase;
  /** Messages handed to the mailer when no SMTP server is configured (see startSmtpServer for a real one). */
  sentMail: MailMessage[];
  /** fetch relative to the app, with JSON in and out. */
  request(method: string, path: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<TestResponse>;
  signUp(overrides?: Partial<{ name: string; email: string; password: string; region: string }>): Promise<SignedUp>;
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
}

let counter = 0;

export async function startTestApp(t: Test, opts: TestAppOptions = {}): Promise<TestApp> {
  const database = await freshDatabase(t);
  const clock = new ManualClock(opts.start ?? new Date());
  const config: Config = { ...loadConfig({}), ...opts.config };
  const sentMail: MailMessage[] = [];
  const quiet = { info: () => {}, error: (obj: object, msg: string) => console.error(msg, obj) };
  const mailer: Mailer = opts.mailer ?? (config.smtpUrl
    ? createMailer(config, quiet)
    : { send: async (m) => { sentMail.push(m); }, close: async () => {} });
  t.teardown(() => mailer.close());
  const deps: AppDeps = {
    config,
    db: database.db,
    sql: database.sql,
    clock,
    keyring: new MasterKeyring([{ version: 1, key: randomBytes(32) }]),
    mailer,
  };
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
  const app = await buildApp(deps);
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
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  };

  const signUp: TestApp['signUp'] = async (overrides = {}) => {
    counter += 1;
    const res = await request('POST', '/v1/accounts', {
      body: {
        name: `Account ${counter}`,
        email: `admin${counter}-${randomBytes(3).toString('hex')}@example.test`,
        password: 'correct horse battery staple',
        region: 'eu-west-1',
        ...overrides,
      },
    });
    if (res.status !== 201) throw new Error(`sign-up failed: ${res.status} ${res.text}`);
    return { key: res.body.api_key.secret, accountId: res.body.account.id, userId: res.body.user.id, keyId: res.body.api_key.id, body: res.body };
  };

  return { app, url, deps, clock, database, sentMail, request, signUp };
}
