// What a route handler receives, and the small response helpers every handler shares.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TeamState, Member, AccessTokenRecord } from './state.ts';
import type { Counters } from './counters.ts';
import type { Faults } from './faults.ts';
import type { UploadSessions } from './upload-sessions.ts';

/** Returned by handlers that wrote the response themselves (downloads). */
export const SENT = Symbol('sent');

export interface EmulatorCore {
  state: TeamState;
  counters: Counters;
  faults: Faults;
  sessions: UploadSessions;
  /** Resolvers of pending longpolls, so close() need not wait for them. */
  pendingLongpolls: Set<() => void>;
}

export interface CallContext {
  core: EmulatorCore;
  route: string;
  req: IncomingMessage;
  res: ServerResponse;
  // Parsed JSON argument (Stone structs are validated loosely, field by field, in the handlers).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  arg: any;
  /** Raw request body for upload-style routes. */
  body: Buffer;
  token?: AccessTokenRecord;
  /** Member selected by Dropbox-API-Select-User / -Select-Admin (user routes only). */
  actor?: Member;
  asAdmin: boolean;
  /** Fault: announce a longer body than is sent, then drop the connection. */
  truncate: boolean;
}

export type RouteStyle = 'rpc' | 'upload' | 'download';

export interface RouteSpec {
  style: RouteStyle;
  auth: 'team' | 'user' | 'noauth';
  handler: (ctx: CallContext) => unknown | Promise<unknown>;
}

/** JSON for response headers: non-ASCII escaped as \uXXXX, as the SDK does for Dropbox-API-Arg. */
export function headerSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/** Send a whole body; honours the truncate fault. */
export function sendBytes(ctx: Pick<CallContext, 'res' | 'truncate'>, status: number, headers: Record<string, string>, body: Buffer): void {
  const { res } = ctx;
  res.writeHead(status, { ...headers, 'Content-Length': String(body.length) });
  if (ctx.truncate) {
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.socket?.destroy());
    return;
  }
  res.end(body);
}

export function sendJson(ctx: Pick<CallContext, 'res' | 'truncate'>, status: number, value: unknown, headers: Record<string, string> = {}): void {
  sendBytes(ctx, status, { 'Content-Type': 'application/json', ...headers }, Buffer.from(JSON.stringify(value)));
}

export function sendText(ctx: Pick<CallContext, 'res' | 'truncate'>, status: number, text: string, headers: Record<string, string> = {}): void {
  sendBytes(ctx, status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers }, Buffer.from(text));
}

const STREAM_CHUNK = 1024 * 1024;

/** Stream a large Buffer in chunks with backpressure; truncate sends half and drops the socket. */
export async function streamBytes(ctx: CallContext, status: number, headers: Record<string, string>, body: Buffer): Promise<void> {
  const { res } = ctx;
  res.writeHead(status, { ...headers, 'Content-Length': String(body.length) });
  const end = ctx.truncate ? Math.floor(body.length / 2) : body.length;
  for (let pos = 0; pos < end; pos += STREAM_CHUNK) {
    if (res.destroyed) return;
    const ok = res.write(body.subarray(pos, Math.min(end, pos + STREAM_CHUNK)));
    if (!ok) {
      await new Promise<void>((resolve) => {
        const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (ctx.truncate) res.write(Buffer.alloc(0), () => res.socket?.destroy());
  else res.end();
}

export function readBody(req: IncomingMessage, max: number): Promise<Buffer | 'too_large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) tooLarge = true;
      if (!tooLarge) chunks.push(c);
    });
    req.on('end', () => resolve(tooLarge ? 'too_large' : chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
