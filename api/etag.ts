// Optimistic concurrency: each resource row has a version; its ETag is that version. Updates that
// send If-Match must name the current version, or get 412 and change nothing. A route that reads
// If-Match says so with `config.ifMatch` (the OpenAPI document lists the header and the 412 from it);
// reading it without saying so is a programming error, so the contract cannot drift from the code.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { badRequest, preconditionFailed } from './errors.ts';

export function etagOf(version: number): string {
  return `"v${version}"`;
}

export function setEtag(reply: FastifyReply, version: number): void {
  reply.header('etag', etagOf(version));
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route honours If-Match: a stale version is a 412 and changes nothing. */
    ifMatch?: boolean;
  }
}

/** The version the caller expects, from If-Match; undefined when absent or `*`. */
export function expectedVersion(request: FastifyRequest): number | undefined {
  if (request.routeOptions.config.ifMatch !== true) {
    throw new Error(`${request.method} ${request.routeOptions.url} reads If-Match without declaring config.ifMatch`);
  }
  const header = request.headers['if-match'];
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"v(\d+)"\s*$/.exec(header);
  if (!match) throw badRequest('invalid_if_match', 'If-Match must be an ETag this API returned, such as "v3".');
  return Number(match[1]);
}

/**
 * The optimistic check of every update: a caller that sent If-Match (`expected`) for another
 * version than the row's gets a 412. `what` names the object in the detail ("Tag tag_…").
 */
export function checkVersion(expected: number | undefined, current: number, what: string): void {
  if (expected !== undefined && expected !== current) throw preconditionFailed(`${what} is at version ${current}.`);
}
