// Call accounting: per-route counts, data-transport calls per team per month, bytes moved.

/** Upload-family routes that count against the data transport limit (docs/dropbox.md §5.3). */
export const DATA_TRANSPORT_ROUTES = new Set([
  'files/upload',
  'files/upload_session/start',
  'files/upload_session/start_batch',
  'files/upload_session/append',
  'files/upload_session/append_v2',
  'files/upload_session/append_batch',
  'files/upload_session/finish',
  'files/upload_session/finish_batch',
  'files/upload_session/finish_batch_v2',
]);

export class Counters {
  routes: Record<string, number> = {};
  /** teamId → 'YYYY-MM' → calls. */
  dataTransport: Record<string, Record<string, number>> = {};
  bytesDownloaded = 0;
  bytesUploaded = 0;
  private readonly clock: () => number;

  constructor(clock: () => number) {
    this.clock = clock;
  }

  countRoute(route: string): void {
    this.routes[route] = (this.routes[route] ?? 0) + 1;
  }

  countDataTransport(teamId: string): void {
    const month = new Date(this.clock()).toISOString().slice(0, 7);
    const perTeam = (this.dataTransport[teamId] ??= {});
    perTeam[month] = (perTeam[month] ?? 0) + 1;
  }

  /** Data-transport calls of the current month (all teams when teamId is omitted). */
  dataTransportThisMonth(teamId?: string): number {
    const month = new Date(this.clock()).toISOString().slice(0, 7);
    let n = 0;
    for (const [t, months] of Object.entries(this.dataTransport)) if (!teamId || t === teamId) n += months[month] ?? 0;
    return n;
  }

  reset(): void {
    this.routes = {};
    this.dataTransport = {};
    this.bytesDownloaded = 0;
    this.bytesUploaded = 0;
  }

  toJSON(): object {
    return {
      routes: this.routes,
      dataTransport: this.dataTransport,
      dataTransportThisMonth: this.dataTransportThisMonth(),
      bytesDownloaded: this.bytesDownloaded,
      bytesUploaded: this.bytesUploaded,
    };
  }
}
