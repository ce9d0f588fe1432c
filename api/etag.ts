// Optimistic concurrency: each resource row has a version; its ETag is that version. Updates that
// send If-Match must name the current version, or get 412 and change nothing.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { badRequest } from './errors.ts';

export function etagOf(version: number): string {
  return `"v${version}"`;
}

export function setEtag(reply: FastifyReply, version: number): void {
  reply.header('etag', etagOf(version));
}

/** The version the caller expects, from If-Match; undefined when absent or `*`. */
export function expectedVersion(request: FastifyRequest): number | undefined {
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"v(\d+)"\s*$/.exec(header);
  if (!match) throw badRequest('invalid_if_match', 'If-Match must be an ETag this API returned, such as "v3".');
  return Number(match[1]);
}
