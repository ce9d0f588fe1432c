// `coffer.events.stream()`: the account's events as they happen, from the Server-Sent Events
// stream `GET /v1/events/stream`, as an async iterator. A dropped connection (network error, the
// server ending the stream) is reopened with Last-Event-ID, so no event is lost or repeated;
// refusals (401, 403, 400) end the iteration with their CofferError. fetch and a ReadableStream
// parser only: it runs wherever the SDK does.
import { ApiConnectionError, CofferError } from './errors.ts';
import { Resource } from './resource.ts';
import type { ResultOf } from './types.ts';

export type Event = ResultOf<'getEvent'>;

export interface StreamedEvent {
  id: string;
  type: string;
  /** The event's JSON exactly as sent: the body a webhook delivery of it carries (and signs). */
  raw: string;
  event: Event;
}

export interface StreamOptions {
  /** Resume after this event id (the events since then come first). Default: only new events. */
  lastEventId?: string;
  /** Only these event types. */
  types?: string[];
  /** `customers`: a partner account's stream of its current customers' events (default `account`: its own). */
  scope?: 'account' | 'customers';
  /** Ends the iteration (cleanly: the loop just stops). */
  signal?: AbortSignal;
  /** Reopen a dropped connection (default true); false ends the iteration when it drops. */
  reconnect?: boolean;
  /** Called each time the stream is open (after a reconnect too): events from then on arrive. */
  onOpen?: () => void;
  /** Called when a connection dropped and is about to be reopened. */
  onReconnect?: (error: unknown) => void;
  /** Longest pause between reconnections (default 30 s). */
  maxRetryMs?: number;
}

/** One Server-Sent Event as the protocol defines it. */
interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
  retry: number | undefined;
}

/** Parses a text stream into SSE messages (the WHATWG algorithm: fields, comments, blank-line dispatch). */
export async function* parseSse(chunks: AsyncIterable<string>): AsyncGenerator<SseMessage> {
  let buffer = '';
  let data: string[] = [];
  let event = '';
  let id: string | undefined;
  let retry: number | undefined;
  for await (const chunk of chunks) {
    buffer += chunk;
    for (;;) {
      const match = /\r\n|\n|\r/.exec(buffer);
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (!match || (match[0] === '\r' && match.index === buffer.length - 1)) break;
      const line = buffer.slice(0, match.index);
      buffer = buffer.slice(match.index + match[0].length);
      if (line === '') {
        if (data.length) yield { id, event: event || 'message', data: data.join('\n'), retry };
        data = [];
        event = '';
        retry = undefined;
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\0')) id = value;
      else if (field === 'retry' && /^\d+$/.test(value)) retry = Number(value);
    }
  }
}

async function* textOf(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield decoder.decode(value, { stream: true });
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** A refusal that reconnecting will not cure. */
function isFinal(err: unknown): boolean {
  return err instanceof CofferError && !(err instanceof ApiConnectionError) && err.status !== 429 && err.status < 500;
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { clearTimeout(handle); signal?.removeEventListener('abort', done); resolve(); };
    const handle = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class EventStreamer extends Resource {
  /** `for await (const { event } of coffer.events.stream({ signal })) …` — see the file's header. */
  async *stream(options: StreamOptions = {}): AsyncGenerator<StreamedEvent> {
    const { signal } = options;
    let lastEventId = options.lastEventId;
    let retryMs = 2000;
    let failures = 0;
    while (!signal?.aborted) {
      try {
        const { response } = await this._transport.request('GET', '/v1/events/stream', {
          params: { query: { ...(options.types?.length ? { type: options.types.join(',') } : {}), ...(options.scope ? { scope: options.scope } : {}) } },
          headers: { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
          parseAs: 'stream',
          ...(signal ? { signal } : {}),
        });
        if (!response.body) throw new ApiConnectionError({ status: 0, method: 'GET', url: response.url, message: 'the event stream has no body' });
        options.onOpen?.();
        failures = 0;
        for await (const message of parseSse(textOf(response.body))) {
          if (message.retry !== undefined) retryMs = message.retry;
          if (!message.id) continue;
          lastEventId = message.id;
          yield { id: message.id, type: message.event, raw: message.data, event: JSON.parse(message.data) as Event };
        }
        if (options.reconnect === false) return;
        options.onReconnect?.(undefined);
      } catch (err) {
        if (signal?.aborted) return;
        if (isFinal(err) || options.reconnect === false) throw err;
        options.onReconnect?.(err);
        failures += 1;
      }
      await pause(Math.min(options.maxRetryMs ?? 30_000, retryMs * 2 ** Math.max(0, failures - 1)), signal);
    }
  }
}
