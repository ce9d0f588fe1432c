// Retries with exponential back-off and full jitter, honouring Retry-After. A request is retried
// only when repeating it cannot do something twice: safe methods, PUT/DELETE, a POST carrying an
// Idempotency-Key, a PATCH guarded by If-Match, or any request the server rejected with 429
// (which it did not process).
export interface RetryPolicy {
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 3, baseDelayMs: 300, maxDelayMs: 30_000 };

const RETRYABLE_STATUS = new Set([429, 500, 502, 503, 504]);

export function canRepeat(request: Request): boolean {
  switch (request.method) {
    case 'GET': case 'HEAD': case 'OPTIONS': case 'PUT': case 'DELETE':
      return true;
    case 'POST':
      return request.headers.has('idempotency-key');
    case 'PATCH':
      return request.headers.has('if-match');
    default:
      return false;
  }
}

export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function backoffMs(attempt: number, policy: RetryPolicy, random = Math.random): number {
  return Math.floor(random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function retryingFetch(inner: (request: Request) => Promise<Response>, policy: RetryPolicy): (request: Request) => Promise<Response> {
  return async (request: Request) => {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= policy.maxRetries;
      const copy = last ? request : request.clone();
      let response: Response;
      try {
        response = await inner(copy);
      } catch (err) {
        // A network error may come after the server acted, so only repeatable requests retry.
        if (last || !canRepeat(request)) throw err;
        await sleep(backoffMs(attempt, policy));
        continue;
      }
      if (last || !RETRYABLE_STATUS.has(response.status) || (response.status !== 429 && !canRepeat(request))) return response;
      const wait = Math.max(retryAfterMs(response.headers.get('retry-after')) ?? 0, backoffMs(attempt, policy));
      if (wait > policy.maxDelayMs) return response; // the server asks for longer than we may wait
      await response.body?.cancel();
      await sleep(wait);
    }
  };
}
