// Progress of long work (a restore, an export, a backup, a download): a one-line bar on a
// terminal, redrawn in place on stderr — items and bytes done of total, rate and ETA.
//
// A small renderer rather than cli-progress: the bar shows two quantities at once (items and
// bytes) and derives rate and ETA from bytes, where cli-progress tracks one value and would need a
// custom formatter and payload for the rest; it would also be the CLI's first dependency with a
// terminal-drawing footprint of its own, for about forty lines of code here.
export interface Sample {
  itemsDone: number;
  itemsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** Rate (bytes/s) over the last ten seconds of samples, and the time left at that rate. */
export class Meter {
  readonly #window: { at: number; bytes: number }[] = [];
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  add(bytesDone: number): void {
    const at = this.#now();
    this.#window.push({ at, bytes: bytesDone });
    while (this.#window.length > 2 && at - this.#window[0]!.at > 10_000) this.#window.shift();
  }

  /** Bytes per second; null until two samples a moment apart. */
  rate(): number | null {
    const first = this.#window[0];
    const last = this.#window.at(-1);
    if (!first || !last || last.at - first.at < 200) return null;
    return Math.max(0, ((last.bytes - first.bytes) * 1000) / (last.at - first.at));
  }

  /** Seconds left; null when unknown. */
  eta(bytesLeft: number): number | null {
    const rate = this.rate();
    if (bytesLeft <= 0) return 0;
    return rate ? Math.round(bytesLeft / rate) : null;
  }
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(1)} ${UNITS[i]}`;
}

export function formatDuration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}` : `${m}:${String(s).padStart(2, '0')}`;
}

/** `[=====>    ]  42% 120/300 items · 1.2/5.0 MiB · 800 KiB/s · ETA 0:05` */
export function renderLine(label: string, s: Sample, meter: Meter, width = 80): string {
  const fraction = s.bytesTotal > 0 ? s.bytesDone / s.bytesTotal : s.itemsTotal > 0 ? s.itemsDone / s.itemsTotal : 0;
  const rate = meter.rate();
  const eta = meter.eta(s.bytesTotal - s.bytesDone);
  const parts = [
    s.itemsTotal ? `${s.itemsDone}/${s.itemsTotal} items` : `${s.itemsDone} items`,
    s.bytesTotal ? `${formatBytes(s.bytesDone)}/${formatBytes(s.bytesTotal)}` : formatBytes(s.bytesDone),
    rate === null ? '' : `${formatBytes(rate)}/s`,
    eta === null || !s.bytesTotal ? '' : `ETA ${formatDuration(eta)}`,
  ].filter(Boolean);
  const percent = `${String(Math.floor(Math.min(1, fraction) * 100)).padStart(3)}%`;
  const text = `${label} ${percent} ${parts.join(' · ')}`;
  const barWidth = Math.max(10, Math.min(30, width - text.length - 3));
  const filled = Math.round(Math.min(1, fraction) * barWidth);
  const bar = '='.repeat(Math.max(0, filled - 1)) + (filled ? (filled === barWidth ? '=' : '>') : '') + ' '.repeat(barWidth - filled);
  return `[${bar}] ${text}`.slice(0, Math.max(20, width - 1));
}

/** Draws the bar in place on a terminal; on anything else, one plain line per change. */
export class ProgressBar {
  readonly #out: NodeJS.WriteStream;
  readonly #label: string;
  readonly meter = new Meter();
  #last = '';

  constructor(out: NodeJS.WriteStream, label: string) {
    this.#out = out;
    this.#label = label;
  }

  update(sample: Sample, state?: string): void {
    this.meter.add(sample.bytesDone);
    if (this.#out.isTTY) {
      this.#out.write(`\r\x1b[2K${renderLine(state ? `${this.#label} ${state}` : this.#label, sample, this.meter, this.#out.columns || 80)}`);
      return;
    }
    const line = `${state ?? this.#label} ${sample.itemsDone}/${sample.itemsTotal} items, ${formatBytes(sample.bytesDone)}/${formatBytes(sample.bytesTotal)}`;
    if (line !== this.#last) this.#out.write(line + '\n');
    this.#last = line;
  }

  /** Ends the bar's line (a terminal keeps the last drawing). */
  done(): void {
    if (this.#out.isTTY) this.#out.write('\n');
  }
}
