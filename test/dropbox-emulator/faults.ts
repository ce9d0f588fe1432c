// Fault injection: queued rules consumed by matching calls, plus the data-transport ceiling.

export type FaultKind = '429-json' | '429-text' | '500' | '503' | 'reset' | 'truncate' | 'expired-token' | 'too_many_write_operations';

export interface FaultRule {
  /** Route name without the /2/ prefix ('files/upload'), or a RegExp tested against it. Omit = any route. */
  route?: string | RegExp;
  /** How many matching calls this rule affects (default 1). */
  times?: number;
  kind: FaultKind;
  /** Seconds, for 429 kinds (default 1). */
  retryAfter?: number;
}

/** Fixed one-second windows per caller (access token + selected member), like Dropbox's per-token/per-member limits. */
export interface RateLimit {
  perSecond: number;
  retryAfter?: number;
  kind?: '429-json' | '429-text';
}

export class Faults {
  rules: Array<FaultRule & { remaining: number }> = [];
  /** After this many data-transport calls (current month), upload-family calls get 403 invalid_account_type/feature. */
  dataTransportLimit: number | undefined;
  /** Automatic 429s once a caller exceeds perSecond calls in the current second. */
  rateLimit: RateLimit | undefined;
  /** Added to every /2/ call before it is handled (benchmarks with realistic round trips). */
  latencyMs = 0;
  private readonly windows = new Map<string, { second: number; count: number }>();

  add(rule: FaultRule): void {
    this.rules.push({ ...rule, remaining: rule.times ?? 1 });
  }

  clear(): void {
    this.rules = [];
    this.dataTransportLimit = undefined;
    this.rateLimit = undefined;
    this.latencyMs = 0;
    this.windows.clear();
  }

  /** Counts a call for `caller`; returns the rate-limit rule when this call is over the limit. */
  overRateLimit(caller: string, nowMs: number): RateLimit | undefined {
    const limit = this.rateLimit;
    if (!limit) return undefined;
    const second = Math.floor(nowMs / 1000);
    let w = this.windows.get(caller);
    if (!w || w.second !== second) this.windows.set(caller, (w = { second, count: 0 }));
    w.count++; // rate-limited calls count too (data ingress guide)
    return w.count > limit.perSecond ? limit : undefined;
  }

  /** First live rule matching the route; consumes one use. */
  take(route: string): FaultRule | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && matches(r.route, route));
    if (!rule) return undefined;
    rule.remaining--;
    if (rule.remaining === 0) this.rules = this.rules.filter((r) => r !== rule);
    return rule;
  }
}

function matches(pattern: string | RegExp | undefined, route: string): boolean {
  if (pattern === undefined) return true;
  if (typeof pattern === 'string') return pattern.replace(/^\/?(2\/)?/, '') === route;
  return pattern.test(route);
}
