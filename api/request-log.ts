// What the request log records of a request. URLs can carry credentials: the signed export link
// (`/v1/downloads/<token>`), the signature of a report link, the OAuth `code` and `state` of the
// Dropbox callback. Logs are read by more people and kept longer than those credentials deserve, so
// these values are replaced before anything is written; headers (Authorization) are never logged.
import type { FastifyRequest } from 'fastify';

const SECRET_QUERY = new Set(['token', 'code', 'state', 'signature', 'access_token', 'refresh_token', 'key']);
const SECRET_PATHS: RegExp[] = [/^(\/v1\/downloads\/)[^/?#]+/];
export const REDACTED = '[redacted]';

/** The URL (path and query) with credential values replaced by `[redacted]`. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  let path = q < 0 ? url : url.slice(0, q);
  for (const pattern of SECRET_PATHS) path = path.replace(pattern, `$1${REDACTED}`);
  if (q < 0) return path;
  const query = url.slice(q + 1).split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    let decoded = name;
    try {
      decoded = decodeURIComponent(name.replace(/\+/g, ' '));
    } catch {
      // a malformed name is kept as it is
    }
    return eq >= 0 && SECRET_QUERY.has(decoded.toLowerCase()) ? `${name}=${REDACTED}` : pair;
  });
  return `${path}?${query.join('&')}`;
}

/** pino serializer of `req` for Fastify's request log (replaces Fastify's default one). */
export function serializeRequest(req: FastifyRequest) {
  return {
    method: req.method,
    url: redactUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket ? req.socket.remotePort : undefined,
  };
}
