// A stand-in for Google Cloud Storage's XML API: a proxy in front of s3rver that adds what Coffer
// must cope with there and s3rver does not do. It knows HMAC access IDs (an unknown one is refused as
// GCS refuses it, 403 InvalidAccessKeyId), a read-only key may not create objects (403
// AccessDenied), and S3's multi-object delete (`POST /bucket?delete`) is not implemented (GCS answers
// 501 NotImplemented). Signatures are not verified (s3rver behind it does not either).
// Requests it lets through reach s3rver as its one access key.
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startS3rver } from '../workers/storage/fixtures/start-s3rver.ts';

export interface RunningGcsImitation {
  endpoint: string;
  bucket: string;
  /** Requests seen, as `METHOD path?query`. */
  seen: string[];
  stop(): Promise<void>;
}

function gcsError(res: ServerResponse, status: number, code: string, message: string, details?: string): void {
  res.writeHead(status, { 'content-type': 'application/xml; charset=UTF-8' });
  res.end(`<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message>${details ? `<Details>${details}</Details>` : ''}</Error>`);
}

/** `keys`: HMAC access ID → what it may do. */
export async function startGcsImitation(bucket: string, keys: Record<string, 'read-write' | 'read-only'>): Promise<RunningGcsImitation> {
  const s3rver = await startS3rver(bucket);
  const upstream = new URL(s3rver.endpoint);
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://gcs.invalid');
    seen.push(`${req.method} ${url.pathname}${url.search}`);
    const accessId = /Credential=([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
    const access = accessId ? keys[accessId] : undefined;
    if (!access || (req.method === 'POST' && url.searchParams.has('delete')) || (access === 'read-only' && req.method !== 'GET' && req.method !== 'HEAD')) req.resume();
    if (!access) return gcsError(res, 403, 'InvalidAccessKeyId', 'The GOOG access key Id you provided does not exist in our records.');
    if (req.method === 'POST' && url.searchParams.has('delete')) {
      return gcsError(res, 501, 'NotImplemented', 'A header or query you provided requested a function that is not implemented.', 'POST ?delete is not implemented for objects.');
    }
    if (access === 'read-only' && req.method !== 'GET' && req.method !== 'HEAD') {
      return gcsError(res, 403, 'AccessDenied', 'Access denied.', `${accessId} does not have storage.objects.create access to the Google Cloud Storage object.`);
    }
    // s3rver knows one access key only; signatures it does not check.
    const headers = { ...req.headers, authorization: req.headers.authorization!.replace(`Credential=${accessId}/`, 'Credential=S3RVER/') };
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bucket,
    seen,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await s3rver.stop();
    },
  };
}
