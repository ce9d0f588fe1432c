// A second API process on the database of a test app: its own connection pool, LISTEN connection,
// credential cache and app, sharing only the database (and the test's ManualClock, as the
// processes of one deployment share the time). What one replica changes, the other must honour.
import type { Test } from 'tap';
import { buildApp } from '../../api/app.ts';
import { Background } from '../../api/background.ts';
import type { Config } from '../../api/config.ts';
import { connect } from '../../db/client.ts';
import type { TestApp, TestResponse } from './app.ts';

export interface Peer {
  url: string;
  request(method: string, path: string, opts?: { key?: string; body?: unknown; headers?: Record<string, string> }): Promise<TestResponse>;
}

export async function startPeer(t: Test, api: TestApp, opts: { config?: Partial<Config> } = {}): Promise<Peer> {
  const database = connect(api.database.url, { max: 5 });
  const quiet = { info: () => {}, error: (obj: object, msg: string) => console.error(msg, obj) };
  const app = await buildApp({
    ...api.deps,
    config: { ...api.deps.config, ...opts.config },
    db: database.db,
    sql: database.sql,
    background: new Background(quiet),
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await database.close();
  };
  t.teardown(close);
  return {
    url,
    async request(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.key) headers.authorization = `Bearer ${o.key}`;
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(url + path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
      const text = await res.text();
      return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined, text };
    },
  };
}

/**
 * Asks until the answer is not a 200, for at most `ms` of real time; the answer it stopped at.
 * A change reaches another process by a notification, so "at once" is "before its next request
 * but one"; the ManualClock stands still meanwhile, so no cache entry can expire on its own.
 */
export async function untilRefused(ask: () => Promise<TestResponse>, ms = 3_000): Promise<TestResponse> {
  const end = Date.now() + ms;
  for (;;) {
    const res = await ask();
    if (res.status !== 200 || Date.now() > end) return res;
    await new Promise((r) => setTimeout(r, 10));
  }
}
