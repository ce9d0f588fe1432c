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
import { AnonymousCredential, BlobServiceClient, Pipeline, StorageSharedKeyCredential, type ContainerClient, type RequestPolicy, type RequestPolicyFactory, type WebResource } from '@azure/storage-blob';
import type { AppDeps } from '../../api/deps.ts';
import { checkTargetUrl, guardedLookup, isPublicAddress, TargetRefused, type Resolver } from './target.ts';
import type { AzureTarget } from './azure-destination.ts';

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

function agents(o: Outbound, keepAlive = true): { httpAgent: http.Agent; httpsAgent: https.Agent } {
  const lookup = guardedLookup(o.allowPrivate, o.resolve) as never;
  return { httpAgent: new http.Agent({ keepAlive, lookup }), httpsAgent: new https.Agent({ keepAlive, lookup }) };
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
export function azurePipeline(credential: StorageSharedKeyCredential | AnonymousCredential, o: Outbound, opts: { keepAlive?: boolean } = {}): Pipeline {
  const { httpAgent, httpsAgent } = agents(o, opts.keepAlive);
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

/**
 * A client of one container of a customer's Azure storage account: the service URL is checked
 * (again: settings may predate a rule, or the server's setting may have changed), and every
 * request goes through the guarded pipeline.
 */
export function azureContainer(target: AzureTarget, container: string, o: Outbound, opts: { keepAlive?: boolean } = {}): ContainerClient {
  checkTargetUrl(target.url, o.allowPrivate);
  const credential = target.accountName && target.accountKey ? new StorageSharedKeyCredential(target.accountName, target.accountKey) : new AnonymousCredential();
  const service = new BlobServiceClient(target.sas ? `${target.url}?${target.sas}` : target.url, azurePipeline(credential, o, opts));
  return service.getContainerClient(container);
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

/** Error codes S3-compatible services (Google Cloud Storage's XML API included) and Azure Blob Storage answer with that are worth naming to the customer. */
const KNOWN_S3_ERRORS = new Set([
  'NoSuchBucket', 'AccessDenied', 'AllAccessDisabled', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidBucketName',
  'PermanentRedirect', 'AuthorizationHeaderMalformed', 'InvalidRequest', 'AccountProblem', 'NotImplemented', 'SlowDown',
  'InvalidSecurity', 'UserProjectAccountProblem',
]);
const KNOWN_AZURE_ERRORS = new Set([
  'AuthenticationFailed', 'NoAuthenticationInformation', 'InvalidAuthenticationInfo', 'ContainerNotFound', 'ContainerBeingDeleted', 'ContainerDisabled',
  'AuthorizationFailure', 'AuthorizationPermissionMismatch', 'AuthorizationResourceTypeMismatch', 'AuthorizationSourceIPMismatch',
  'AuthorizationProtocolMismatch', 'InsufficientAccountPermissions', 'AccountIsDisabled', 'InvalidResourceName', 'ServerBusy',
]);

/** The service's error code (S3: the error's name; Azure: RestError.code), when it is a known one. */
function serviceCode(err: unknown): string | undefined {
  const name = (err as { name?: unknown }).name;
  if (typeof name === 'string' && KNOWN_S3_ERRORS.has(name)) return name;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && KNOWN_AZURE_ERRORS.has(code)) return code;
  return undefined;
}

/**
 * Why a storage call failed, in Coffer's words. The SDK's message is never shown: it can carry
 * what a server that is not S3 answered (an SSRF probe would read it back), so only a service
 * error code from the lists above, or what kind of connection failure it was, is named.
 */
export function storageFailure(err: unknown): string {
  if (isTargetRefused(err)) return 'the endpoint resolves to a non-public address';
  const known = serviceCode(err);
  if (known) return known;
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the endpoint\'s host name does not resolve';
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || (err as { name?: unknown }).name === 'TimeoutError') return 'the endpoint could not be reached';
  const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? (err as { statusCode?: unknown }).statusCode;
  return typeof status === 'number' ? `the endpoint answered HTTP ${status}` : 'the endpoint did not answer as the storage service does';
}

/**
 * What kind of failure it was, for a client to act on: the credentials were refused
 * (`authentication`), the bucket or container does not exist (`not_found`), the credentials are
 * good but may not do this (`permission_denied`), the endpoint is not allowed (`refused`) or did not
 * answer (`unreachable`), or something else (`other`).
 */
export type StorageFailureKind = 'authentication' | 'not_found' | 'permission_denied' | 'refused' | 'unreachable' | 'other';

const FAILURE_KINDS: Record<string, StorageFailureKind> = {
  InvalidAccessKeyId: 'authentication', SignatureDoesNotMatch: 'authentication', AuthorizationHeaderMalformed: 'authentication', InvalidSecurity: 'authentication',
  AuthenticationFailed: 'authentication', NoAuthenticationInformation: 'authentication', InvalidAuthenticationInfo: 'authentication',
  NoSuchBucket: 'not_found', ContainerNotFound: 'not_found', ContainerBeingDeleted: 'not_found',
  AccessDenied: 'permission_denied', AllAccessDisabled: 'permission_denied', AuthorizationFailure: 'permission_denied',
  AuthorizationPermissionMismatch: 'permission_denied', AuthorizationResourceTypeMismatch: 'permission_denied',
  AuthorizationSourceIPMismatch: 'permission_denied', AuthorizationProtocolMismatch: 'permission_denied',
  InsufficientAccountPermissions: 'permission_denied', AccountIsDisabled: 'permission_denied', ContainerDisabled: 'permission_denied',
  UserProjectAccountProblem: 'permission_denied', AccountProblem: 'permission_denied',
};

/** The start of Azure's message for a request whose signature or key it refused. */
const AZURE_AUTHENTICATION_MESSAGE = 'Server failed to authenticate the request';

export function storageFailureKind(err: unknown): StorageFailureKind {
  if (isTargetRefused(err)) return 'refused';
  // Azure answers a wrong key or signature with this message under AuthenticationFailed, Azurite
  // (the emulator) under AuthorizationFailure, which on Azure itself means a network rule refused
  // the request: the message tells the two apart. (The message is only read, never shown.)
  const message = (err as { details?: { message?: unknown } }).details?.message;
  if (typeof message === 'string' && message.startsWith(AZURE_AUTHENTICATION_MESSAGE)) return 'authentication';
  const known = serviceCode(err);
  if (known) return FAILURE_KINDS[known] ?? 'other';
  const code = (err as { code?: unknown }).code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || (err as { name?: unknown }).name === 'TimeoutError') return 'unreachable';
  return 'other';
}
