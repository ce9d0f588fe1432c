// How Coffer connects to storage a customer names: the account's own bucket, the probe that checks
// it, and export destinations (S3, Google Cloud Storage, Azure Blob Storage). A URL is checked when
// it is saved (api/resources/storage/endpoint.ts), but a name can resolve to an inside address then or later (a wildcard
// DNS name such as `127.0.0.1.nip.io`, DNS rebinding), so every connection of these SDK clients goes
// through the webhooks' guarded lookup: an address that is not public is refused at connect time,
// unless COFFER_STORAGE_ALLOW_PRIVATE_ENDPOINTS. Literal addresses never reach a lookup, so each
// request's host is checked as well. Redirects are never followed (the AWS SDK's Node handler does
// not follow them; Azure's redirect policy is switched off).
import http from 'node:http';
import https from 'node:https';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { Pipeline, type AnonymousCredential, type RequestPolicy, type RequestPolicyFactory, type StorageSharedKeyCredential, type WebResource } from '@azure/storage-blob';
import type { AppDeps } from '../../api/deps.ts';
import { guardedLookup, isPublicAddress, TargetRefused, type Resolver } from './target.ts';

export interface Outbound {
  allowPrivate: boolean;
  /** The name resolver (the system's by default; tests point names at 127.0.0.1). */
  resolve?: Resolver;
}

export function outbound(deps: Pick<AppDeps, 'config' | 'resolveHost'>): Outbound {
  return { allowPrivate: deps.config.storageAllowPrivateEndpoints === true, ...(deps.resolveHost ? { resolve: deps.resolveHost } : {}) };
}

/** Throws TargetRefused for a literal non-public address (names are checked by the lookup). */
export function assertHostAllowed(hostname: string, o: Outbound): void {
  if (o.allowPrivate) return;
  const host = hostname.replace(/^\[|\]$/g, '');
  if (/^[\d.]+$/.test(host) || host.includes(':')) {
    if (!isPublicAddress(host)) throw Object.assign(new TargetRefused(`${host} is not a public address`), { code: 'ETARGETREFUSED' });
  }
}

function agents(o: Outbound): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const lookup = guardedLookup(o.allowPrivate, o.resolve) as never;
  return { httpAgent: new http.Agent({ keepAlive: true, lookup }), httpsAgent: new https.Agent({ keepAlive: true, lookup }) };
}

/** S3Client options: connections through the guarded lookup. Pair with `guardS3Client`. */
export function s3Connection(o: Outbound): Pick<S3ClientConfig, 'requestHandler'> {
  return { requestHandler: { ...agents(o), connectionTimeout: 10_000, requestTimeout: 120_000 } };
}

/** Checks the host of every request the client sends (after endpoint resolution, before signing). */
export function guardS3Client(client: S3Client, o: Outbound): S3Client {
  client.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { hostname?: string };
      if (request.hostname) assertHostAllowed(request.hostname, o);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'cofferOutboundGuard', priority: 'high' },
  );
  return client;
}

/** A pipeline for Azure Blob clients: guarded connections, no redirects. */
export function azurePipeline(credential: StorageSharedKeyCredential | AnonymousCredential, o: Outbound): Pipeline {
  const { httpAgent, httpsAgent } = agents(o);
  const guard: RequestPolicyFactory = {
    create(next: RequestPolicy): RequestPolicy {
      return {
        sendRequest(request: WebResource) {
          const url = new URL(request.url);
          assertHostAllowed(url.hostname, o);
          request.agent = url.protocol === 'https:' ? httpsAgent : httpAgent;
          return next.sendRequest(request);
        },
      };
    },
  };
  // `redirectOptions` reaches the core pipeline the storage SDK builds (it spreads these options).
  return new Pipeline([credential, guard], { redirectOptions: { maxRetries: 0 }, retryOptions: { maxTries: 3 } } as never);
}

/** `S3StoreConfig.connection` for a store on a customer's bucket. */
export function s3StoreConnection(o: Outbound) {
  return { options: s3Connection(o), prepare: (client: S3Client) => guardS3Client(client, o) };
}

/** Why an outbound storage call was refused for its address (at save, connect or request time). */
export function isTargetRefused(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof TargetRefused || (e as { code?: unknown }).code === 'ETARGETREFUSED') return true;
  }
  return false;
}

/** Error codes S3-compatible services answer with that are worth naming to the customer. */
const KNOWN_S3_ERRORS = new Set([
  'NoSuchBucket', 'AccessDenied', 'AllAccessDisabled', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidBucketName',
  'PermanentRedirect', 'AuthorizationHeaderMalformed', 'InvalidRequest', 'AccountProblem', 'NotImplemented', 'SlowDown',
]);

/**
 * Why a storage call failed, in Coffer's words. The SDK's message is never shown: it can carry
 * what a server that is not S3 answered (an SSRF probe would read it back), so only a service
 * error code from the list above, or what kind of connection failure it was, is named.
 */
export function storageFailure(err: unknown): string {
  if (isTargetRefused(err)) return 'the endpoint resolves to a non-public address';
  const name = (err as { name?: unknown; Code?: unknown }).name;
  if (typeof name === 'string' && KNOWN_S3_ERRORS.has(name)) return name;
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the endpoint\'s host name does not resolve';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || (err as { name?: unknown }).name === 'TimeoutError') return 'the endpoint could not be reached';
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return status ? `the endpoint answered HTTP ${status}` : 'the endpoint did not answer as S3 does';
}
