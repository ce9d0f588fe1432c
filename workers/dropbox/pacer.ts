// Pacing of Dropbox calls per rate-limit subject. Dropbox limits calls per access token: per team
// member for user routes called with Select-User / Select-Admin, per team otherwise (docs/dropbox.md §5.2),
// and "rate limited requests themselves also count towards rate limits". So when one call gets a
// 429, every call for the same subject in this process waits out its Retry-After (instead of each
// finding the 429 for itself and prolonging the penalty), and the subject's rate is then capped at
// half of what it was doing and raised again step by step while no 429 comes (AIMD). A subject that
// never sees a 429 is never slowed; `maxPerSecond` (COFFER_DROPBOX_MAX_CALLS_PER_SECOND) sets a
// ceiling for everyone when an operator wants one.
import type { Fetch } from './transport.ts';

export interface PacerOptions {
  /** Calls per second per subject, always (0 = no ceiling). */
  maxPerSecond?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

interface Subject {
  /** No call starts before this (a 429's Retry-After). */
  blockedUntil: number;
  /** Current cap in calls per second (Infinity = none). */
  rate: number;
  /** When the next call may start under the cap. */
  nextSlot: number;
  /** Start times of recent calls (the last WINDOW_MS), to know what rate the 429 answered. */
  recent: number[];
  /** When the cap was last raised or set. */
  adjustedAt: number;
  /** When the last 429 halved the cap. */
  penalizedAt: number | null;
  lastUsed: number;
}

const WINDOW_MS = 10_000;
/** The cap grows by this factor every WINDOW_MS without a 429... */
const INCREASE = 1.25;
/** ...and a cap above this many calls per second is lifted. */
const UNCAPPED_ABOVE = 1000;
const MIN_RATE = 1;
/** Calls in the window needed before a 429 says anything about our own pace. */
const MIN_SAMPLE = 5;
const MAX_SUBJECTS = 10_000;

export class DropboxPacer {
  readonly #subjects = new Map<string, Subject>();
  readonly #max: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(opts: PacerOptions = {}) {
    this.#max = opts.maxPerSecond && opts.maxPerSecond > 0 ? opts.maxPerSecond : Infinity;
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  /**
   * Waits until a call for `subject` may start and records it; resolves with the time it was
   * scheduled to start (for `penalize`). `sleep` overrides the pacer's own (tests fast-forward).
   * A 429 that arrives while a caller sleeps does not hold that caller back again: at worst one
   * more call of the burst gets its own 429 and retries.
   */
  async acquire(subject: string, sleep: (ms: number) => Promise<void> = this.#sleep): Promise<number> {
    const s = this.#subject(subject);
    const now = this.#now();
    this.#raise(s, now);
    const rate = Math.min(s.rate, this.#max);
    let start = Math.max(now, s.blockedUntil);
    if (rate !== Infinity) {
      // Reserve the slot before sleeping, so concurrent callers queue one behind another.
      start = Math.max(start, s.nextSlot);
      s.nextSlot = start + 1000 / rate;
    }
    s.recent.push(start);
    while (s.recent.length > 0 && s.recent[0]! < now - WINDOW_MS) s.recent.shift();
    s.lastUsed = start;
    if (start > now) await sleep(start - now);
    return start;
  }

  /**
   * A call for `subject` was answered 429: everyone waits `retryAfterMs`, then goes at half the
   * pace. A call that started before the last 429 was handled is part of the same burst: it only
   * extends the wait (halving once per burst, not once per call that was in flight).
   */
  penalize(subject: string, retryAfterMs: number, startedAt = this.#now()): void {
    const s = this.#subject(subject);
    const now = this.#now();
    s.blockedUntil = Math.max(s.blockedUntil, now + Math.max(0, retryAfterMs));
    if (s.penalizedAt !== null && startedAt <= s.penalizedAt) return;
    s.penalizedAt = now;
    while (s.recent.length > 0 && s.recent[0]! < now - WINDOW_MS) s.recent.shift();
    s.nextSlot = s.blockedUntil;
    s.adjustedAt = now;
    // Calls per second over the time they span (at least a second), not over the whole window: a
    // burst in the first second of a run is a high rate. With too few calls to tell, only the wait
    // applies (the quota went to someone else: our pace says nothing).
    if (s.recent.length < MIN_SAMPLE) return;
    const span = Math.max(1000, now - s.recent[0]!);
    const observed = s.recent.length / (span / 1000);
    s.rate = Math.max(MIN_RATE, Math.min(s.rate, observed) / 2);
  }

  /** The cap on `subject` in calls per second (Infinity when none): for tests and logs. */
  rateOf(subject: string): number {
    return Math.min(this.#subjects.get(subject)?.rate ?? Infinity, this.#max);
  }

  #raise(s: Subject, now: number): void {
    if (s.rate === Infinity || now < s.blockedUntil) return;
    while (now - s.adjustedAt >= WINDOW_MS) {
      s.rate *= INCREASE;
      s.adjustedAt += WINDOW_MS;
      if (s.rate > UNCAPPED_ABOVE) {
        s.rate = Infinity;
        return;
      }
    }
  }

  #subject(key: string): Subject {
    let s = this.#subjects.get(key);
    if (!s) {
      if (this.#subjects.size >= MAX_SUBJECTS) this.#evictIdle();
      s = { blockedUntil: 0, rate: Infinity, nextSlot: 0, recent: [], adjustedAt: 0, penalizedAt: null, lastUsed: this.#now() };
      this.#subjects.set(key, s);
    }
    return s;
  }

  #evictIdle(): void {
    const cutoff = this.#now() - 10 * WINDOW_MS;
    for (const [key, s] of this.#subjects) if (s.lastUsed < cutoff && s.blockedUntil < this.#now()) this.#subjects.delete(key);
  }
}

/**
 * A fetch that paces every Dropbox request (SDK calls, downloads, zips) for its subject: the
 * member a select header names, else the team. `team` tells teams apart (a hash of the connection).
 */
export function pacedFetch(inner: Fetch, pacer: DropboxPacer, team: string, sleep?: (ms: number) => Promise<void>): Fetch {
  return async (input, init) => {
    const subject = `${team}:${subjectOf(init?.headers)}`;
    const started = await pacer.acquire(subject, sleep);
    const res = await inner(input, init);
    if (res.status === 429) pacer.penalize(subject, retryAfterMs(res.headers.get('retry-after')), started);
    return res;
  };
}

function subjectOf(headers: RequestInit['headers']): string {
  if (!headers) return 'team';
  const get = (name: string): string | null => {
    if (headers instanceof Headers) return headers.get(name);
    if (Array.isArray(headers)) return headers.find(([k]) => k.toLowerCase() === name)?.[1] ?? null;
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
    return null;
  };
  const member = get('dropbox-api-select-user') ?? get('dropbox-api-select-admin');
  return member ? `member:${member}` : 'team';
}

function retryAfterMs(header: string | null): number {
  return header && /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : 1000;
}

let shared: DropboxPacer | null = null;

/** The process-wide pacer every Dropbox connection shares (subjects are keyed by team and member). */
export function sharedDropboxPacer(maxPerSecond = 0): DropboxPacer {
  shared ??= new DropboxPacer({ maxPerSecond });
  return shared;
}
