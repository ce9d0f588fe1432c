// Work a request starts but does not wait for: what would make its answer slower for one input
// than for another (looking up whether an email belongs to someone, then mailing them), so that the
// answer's timing tells nothing. A failure is logged and lost, like a mail that cannot be delivered;
// the client was told 202 (accepted), not that it happened. settled() waits for what is still
// running: the app's close does, so the database outlives the work, and tests do before asserting.
export interface BackgroundLog {
  error(obj: object, msg: string): void;
}

export class Background {
  readonly #running = new Set<Promise<void>>();
  readonly #log: BackgroundLog;

  constructor(log: BackgroundLog) {
    this.#log = log;
  }

  /** Starts `work` now, detached from the caller; `what` names it in the log when it fails. */
  run(what: string, work: () => Promise<unknown>): void {
    const running: Promise<void> = Promise.resolve()
      .then(work)
      .then(
        () => {},
        (err: unknown) => this.#log.error({ err }, `background work failed: ${what}`),
      )
      .finally(() => this.#running.delete(running));
    this.#running.add(running);
  }

  /** Resolves when nothing started so far (or by what is running) is still running. */
  async settled(): Promise<void> {
    while (this.#running.size) await Promise.allSettled([...this.#running]);
  }
}

/** The app's background work (api/app.ts creates it with the app's logger; this is for code built without an app). */
export function background(deps: { background?: Background }): Background {
  return (deps.background ??= new Background({ error: (obj, msg) => console.error(msg, obj) }));
}
