// GET /v1/events/stream: Server-Sent Events of the account's feed.
//
// How a stream learns of new events: PostgreSQL LISTEN/NOTIFY. recordEvent (feed.ts) NOTIFYs
// `coffer_events` with the account id inside the transaction that writes the event, so the
// notification arrives, in every process, exactly when the event becomes visible — whichever API
// or worker process raised it, with no polling delay and no load while nothing happens. Each
// process holds one LISTEN connection (opened with its first stream) and wakes the streams of that
// account, which then read the events after their cursor. The heartbeat also reads, so an event
// whose notification was lost while the LISTEN connection reconnected still goes out within 15 s.
//
// Order and gaps: ids are time-ordered but taken before commit, so an event may become visible
// after one with a later id. Each read therefore looks back LOOKBACK_MS behind the newest event
// sent and skips the ids this stream sent already; nothing at or before the starting point
// (Last-Event-ID, or the moment of connecting) is sent.
import { PassThrough } from 'node:stream';
import type { AppDeps } from '../../deps.ts';
import { newId } from '../../../db/ids.ts';
import { EVENTS_CHANNEL, partnerKey } from './feed.ts';
import { eventsAfter, type EventScope } from './service.ts';

export const HEARTBEAT_MS = 15_000;
/** A stream ends after this long; the client reconnects with Last-Event-ID and is authenticated again (a revoked key stops). */
export const MAX_STREAM_MS = 30 * 60_000;
const LOOKBACK_MS = 60_000;
const BATCH = 500;
/** A client that does not read: the stream ends rather than buffering without bound (it resumes with Last-Event-ID). */
const MAX_BUFFERED_BYTES = 1 << 20;

/** The smallest id of an event created at `ms`: ids sort by their time prefix. */
export function idFloor(ms: number): string {
  return newId('evt', Math.max(0, ms)).slice(0, 14) + '0'.repeat(16);
}

function idTime(id: string): number {
  let ms = 0;
  for (const ch of id.slice(4, 14)) ms = ms * 32 + '0123456789abcdefghjkmnpqrstvwxyz'.indexOf(ch);
  return ms;
}

type Waker = () => void;

/** One per process: the LISTEN connection and the streams waiting on it, by account. */
export class EventHub {
  private readonly deps: Pick<AppDeps, 'sql'>;
  private readonly wakers = new Map<string, Set<Waker>>();
  private listening: Promise<{ unlisten(): Promise<void> }> | null = null;
  private readonly closers = new Set<() => void>();
  private readonly responses = new Set<Promise<void>>();

  constructor(deps: Pick<AppDeps, 'sql'>) {
    this.deps = deps;
  }

  private wakeAll() {
    for (const set of this.wakers.values()) for (const wake of set) wake();
  }

  /** Registers a waker for the account (or a partner's key, feed.ts); resolves once LISTEN is in place, so no commit after it goes unnoticed. */
  async subscribe(accountId: string, wake: Waker, close: () => void): Promise<() => void> {
    this.listening ??= this.deps.sql.listen(EVENTS_CHANNEL, (payload) => {
      for (const w of this.wakers.get(payload) ?? []) w();
    }, () => this.wakeAll());
    let set = this.wakers.get(accountId);
    if (!set) this.wakers.set(accountId, (set = new Set()));
    set.add(wake);
    this.closers.add(close);
    try {
      await this.listening;
    } catch (err) {
      this.listening = null;
      throw err;
    }
    return () => {
      set.delete(wake);
      if (!set.size) this.wakers.delete(accountId);
      this.closers.delete(close);
    };
  }

  /** A response to wait for when the server closes (it resolves once the response is over). */
  track(ended: Promise<void>) {
    this.responses.add(ended);
    void ended.then(() => this.responses.delete(ended));
  }

  /**
   * Ends every stream and the LISTEN (the server is closing), and waits (up to 2 s) until the
   * responses are over: the server's close then finds their connections idle and closes them,
   * instead of waiting for the keep-alive timeout.
   */
  async close() {
    for (const close of [...this.closers]) close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.responses]), new Promise((resolve) => (timer = setTimeout(resolve, 2000)))]);
    clearTimeout(timer);
    const listening = this.listening;
    this.listening = null;
    if (listening) await listening.then((l) => l.unlisten(), () => {});
  }
}

export interface StreamOptions {
  scope: EventScope;
  lastEventId: string | undefined;
  types: string[] | undefined;
  heartbeatMs?: number;
}

/** The SSE body of one stream: catch-up after Last-Event-ID, then live events and heartbeats. */
export async function openStream(deps: Pick<AppDeps, 'db'>, hub: EventHub, opts: StreamOptions): Promise<PassThrough> {
  const out = new PassThrough();
  const floor = opts.lastEventId ?? idFloor(Date.now());
  const sent = new Set<string>();
  let newest = floor;
  let reading = false;
  let again = false;
  let closed = false;

  const write = (text: string) => {
    if (closed) return;
    out.write(text);
    if (out.writableLength > MAX_BUFFERED_BYTES) finish();
  };

  const read = async () => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        const lookback = idFloor(idTime(newest) - LOOKBACK_MS);
        let after = lookback > floor ? lookback : floor;
        for (const id of sent) if (id <= after) sent.delete(id);
        for (;;) {
          const rows = await eventsAfter(deps, opts.scope, after, opts.types, BATCH);
          for (const row of rows) {
            if (closed) return;
            if (sent.has(row.id)) continue;
            sent.add(row.id);
            if (row.id > newest) newest = row.id;
            write(`id: ${row.id}\nevent: ${row.type}\ndata: ${row.body}\n\n`);
          }
          if (rows.length < BATCH) break;
          after = rows[rows.length - 1]!.id;
        }
      } while (again && !closed);
    } catch (err) {
      // The database failed: end the stream; the client resumes with Last-Event-ID.
      out.destroy(err as Error);
      finish();
    } finally {
      reading = false;
    }
  };

  let unsubscribe: (() => void) | undefined;
  const finish = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(lifetime);
    unsubscribe?.();
    out.end();
  };
  const heartbeat = setInterval(() => {
    write(': heartbeat\n\n');
    void read();
  }, opts.heartbeatMs ?? HEARTBEAT_MS);
  const lifetime = setTimeout(finish, MAX_STREAM_MS);
  out.on('close', finish);

  try {
    const key = 'accountId' in opts.scope ? opts.scope.accountId : partnerKey(opts.scope.partnerId);
    const stop = await hub.subscribe(key, () => void read(), finish);
    if (closed) stop();
    else unsubscribe = stop;
  } catch (err) {
    finish();
    throw err;
  }
  // `retry` tells EventSource how soon to reconnect; the comment gets the headers out at once.
  write('retry: 2000\n: connected\n\n');
  void read();
  return out;
}
