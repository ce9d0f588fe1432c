// Upload session storage. Sequential sessions keep ordered chunks; concurrent ones keep pieces by offset.
import type { IdSource } from './ids.ts';

export const CONCURRENT_BLOCK = 4 * 1024 * 1024;
export const SESSION_TTL_MS = 7 * 24 * 3600 * 1000;

export interface UploadSession {
  id: string;
  type: 'sequential' | 'concurrent';
  /** Sequential: bytes received so far. Concurrent: highest end offset seen. */
  offset: number;
  chunks: Buffer[];
  pieces: Map<number, Buffer>;
  closed: boolean;
  /** Concurrent: total length, known once the closing append arrived. */
  closedLength?: number;
  createdAtMs: number;
}

export class UploadSessions {
  private readonly sessions = new Map<string, UploadSession>();
  private readonly ids: IdSource;
  private readonly clock: () => number;

  constructor(ids: IdSource, clock: () => number) {
    this.ids = ids;
    this.clock = clock;
  }

  create(type: 'sequential' | 'concurrent'): UploadSession {
    const s: UploadSession = { id: this.ids.nextOpaque('pid_upload_session:'), type, offset: 0, chunks: [], pieces: new Map(), closed: false, createdAtMs: this.clock() };
    this.sessions.set(s.id, s);
    return s;
  }

  get(id: unknown): UploadSession | undefined {
    if (typeof id !== 'string') return undefined;
    const s = this.sessions.get(id);
    if (s && this.clock() - s.createdAtMs > SESSION_TTL_MS) {
      this.sessions.delete(id);
      return undefined;
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** All bytes of a session, or the offset of the first gap (concurrent). */
  assemble(s: UploadSession): Buffer | { missingAt: number } {
    if (s.type === 'sequential') return s.chunks.length === 1 ? s.chunks[0]! : Buffer.concat(s.chunks);
    const parts: Buffer[] = [];
    let pos = 0;
    const end = s.closedLength ?? s.offset;
    while (pos < end) {
      const p = s.pieces.get(pos);
      if (!p) return { missingAt: pos };
      parts.push(p);
      pos += p.length;
    }
    return Buffer.concat(parts);
  }
}
