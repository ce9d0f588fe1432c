// Retries with exponential back-off and full jitter, honouring Retry-After. A request is retried
// only when repeating it cannot do something twice: safe methods, PUT/DELETE, a POST carrying an
// Idempotency-Key, a PATCH guarded by If-Match, or any request the server rejected with 429
// (which it did not process). Each attempt may have a time limit: a request with no answer by
// then is abandoned with a TimeoutError and counts as a network error.
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(handle); reject(signal.reason); };
    const handle = setTimeout(() => { signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Calls `inner`, aborting with a TimeoutError when no answer (status and headers) came within `ms`. */
async function withTimeout(inner: (request: Request) => Promise<Response>, request: Request, ms: number | undefined): Promise<Response> {
  if (!ms) return inner(request);
  const timer = new AbortController();
  const handle = setTimeout(() => timer.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')), ms);
  try {
    return await inner(new Request(request, { signal: AbortSignal.any([request.signal, timer.signal]) }));
  } finally {
    clearTimeout(handle);
  }
}

export function retryingFetch(inner: (request: Request) => Promise<Response>, policy: RetryPolicy, timeoutMs?: number): (request: Request) => Promise<Response> {
  return async (request: Request) => {
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= policy.maxRetries;
      const copy = last ? request : request.clone();
      let response: Response;
      try {
        response = await withTimeout(inner, copy, timeoutMs);
      } catch (err) {
        // A network error may come after the server acted, so only repeatable requests retry;
        // the caller's own abort ends it at once.
        if (last || !canRepeat(request) || request.signal.aborted) throw err;
        await sleep(backoffMs(attempt, policy), request.signal);
        continue;
      }
      if (last || !RETRYABLE_STATUS.has(response.status) || (response.status !== 429 && !canRepeat(request))) return response;
      const wait = Math.max(retryAfterMs(response.headers.get('retry-after')) ?? 0, backoffMs(attempt, policy));
      if (wait > policy.maxDelayMs) return response; // the server asks for longer than we may wait
      await response.body?.cancel();
      await sleep(wait, request.signal);
    }
  };
}
