// Smart alerts: a backup run that deletes or modifies an unusual share of an entity (a ransomware
// or mass-deletion signal). Pure: the caller supplies the run and the entity's earlier runs.
//
// For a run, base = the items the entity had before it (total after the run − new + deleted);
// deleted share = deleted / base, modified share = changed / base. The entity's recent norm is
// the average share over its last `history_runs` completed runs (runs with an empty base, such as
// first backups, do not count). A run alerts when, for deletions or modifications:
//   count ≥ min_items  and  share ≥ the threshold %  and  share ≥ norm_multiple × norm.
import type { AlertThresholds } from '../../../db/schema.ts';

export const DEFAULT_ALERT_THRESHOLDS: AlertThresholds = {
  enabled: true,
  deleted_share_percent: 30,
  modified_share_percent: 50,
  norm_multiple: 5,
  min_items: 50,
  history_runs: 10,
};

export interface RunStats {
  newCount: number;
  changedCount: number;
  deletedCount: number;
  /** Items alive after the run (null when unknown). */
  totalItems: number | null;
}

export type AnomalyKind = 'mass_deletion' | 'mass_modification';

export interface Anomaly {
  kind: AnomalyKind;
  /** Items deleted (or modified) by the run. */
  count: number;
  /** Items the entity had before the run. */
  base: number;
  share_percent: number;
  /** The entity's recent average share (%), 0 without history. */
  norm_percent: number;
  threshold_percent: number;
  norm_multiple: number;
}

export function itemsBefore(run: RunStats): number {
  return Math.max(0, (run.totalItems ?? 0) - run.newCount + run.deletedCount);
}

function share(count: number, base: number): number {
  return base > 0 ? (100 * count) / base : 0;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** The anomalies of a run given the entity's earlier completed runs (newest first; only the first `history_runs` count). */
export function detectAnomalies(run: RunStats, history: RunStats[], thresholds: AlertThresholds = DEFAULT_ALERT_THRESHOLDS): Anomaly[] {
  if (!thresholds.enabled) return [];
  const base = itemsBefore(run);
  const past = history.slice(0, thresholds.history_runs).filter((h) => itemsBefore(h) > 0);
  const norm = (pick: (h: RunStats) => number) =>
    past.length ? past.reduce((sum, h) => sum + share(pick(h), itemsBefore(h)), 0) / past.length : 0;
  const checks: { kind: AnomalyKind; count: number; threshold: number; norm: number }[] = [
    { kind: 'mass_deletion', count: run.deletedCount, threshold: thresholds.deleted_share_percent, norm: norm((h) => h.deletedCount) },
    { kind: 'mass_modification', count: run.changedCount, threshold: thresholds.modified_share_percent, norm: norm((h) => h.changedCount) },
  ];
  const found: Anomaly[] = [];
  for (const c of checks) {
    const s = share(c.count, base);
    if (c.count < thresholds.min_items || s < c.threshold) continue;
    if (c.norm > 0 && s < thresholds.norm_multiple * c.norm) continue;
    found.push({ kind: c.kind, count: c.count, base, share_percent: round(s), norm_percent: round(c.norm), threshold_percent: c.threshold, norm_multiple: thresholds.norm_multiple });
  }
  return found;
}
