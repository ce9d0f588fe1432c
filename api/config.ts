// Configuration comes from the environment only, is validated once at start-up, and a bad value
// stops the process with one line naming the variable (ConfigError.message).
import { resolve } from 'node:path';
import { REGION_IDS, REGIONS } from './regions.ts';
import { regionOffered, type S3LocationConfig } from '../workers/backup/locations.ts';
import type { DropboxConfig } from '../workers/dropbox/config.ts';
import { parseMasterKeyVersion } from '../workers/storage/keys.ts';

export type Role = 'all' | 'api' | 'worker';

export interface Config {
  role: Role;
  port: number;
  host: string;
  /** Unset → embedded PostgreSQL under dataDir/pg. */
  databaseUrl: string | undefined;
  dataDir: string;
  publicUrl: string;
  signupEnabled: boolean;
  defaultRegion: string;
  rateLimitPerMinute: number;
  /** Limits on what attackers aim at: failed authentications, sign-in, sign-up, password reset (api/plugins/throttle.ts). Optional so that partial test configs need not name it. */
  rateLimits?: RateLimits;
  logLevel: string;
  /** Base64 32-byte key; unset → generated once into dataDir. */
  masterKey: string | undefined;
  trustProxy: boolean | string;
  /** smtp(s)://user:pass@host:port; unset → each message is written as an .eml file into dataDir/outbox. */
  smtpUrl: string | undefined;
  /** The From address of every email Coffer sends. */
  mailFrom: string;
  dropbox: DropboxConfig;
  /** Set when COFFER_S3_BUCKET is: backups go to S3 (else to the filesystem under dataDir/blobs). */
  s3: S3Config | undefined;
  /** Each region's own bucket (COFFER_REGION_<ID>_S3_*), by region id (workers/backup/locations.ts). */
  storageLocations: Readonly<Record<string, S3Config>>;
  /** Outgoing webhooks (api/resources/webhooks). Optional so that partial test configs need not name it. */
  webhooks?: WebhookConfig;
  /** Plans, prices and dunning (COFFER_BILLING_*). Optional so that partial test configs need not name it. */
  billing?: BillingConfig;
  /** Hosts whose SAML metadata URL may be fetched over http and may resolve to private addresses (COFFER_SAML_METADATA_TRUSTED_HOSTS; tests, on-premises IdPs). Optional so that partial test configs need not name it. */
  samlMetadataTrustedHosts?: string[];
  /** Let an account's own storage endpoint be a loopback / private address (COFFER_STORAGE_ALLOW_PRIVATE_ENDPOINTS; tests, on-premises S3). Optional so that partial test configs need not name it. */
  storageAllowPrivateEndpoints?: boolean;
  /** Origins a browser application may call the API from (COFFER_CORS_ORIGINS, comma-separated; `*` = any; default none). Optional so that partial test configs need not name it. */
  corsOrigins?: string[];
  /** Sign-in with Google / Microsoft (COFFER_OIDC_*); a provider without a client id is off. Optional so that partial test configs need not name it. */
  oidc?: OidcConfig;
  /** What start-up must log at warn level (a configuration that works but should not be left so). */
  warnings?: string[];
}

/**
 * Per client IP and per email address, each over a fixed window (api/plugins/throttle.ts): the
 * password guesses, mail floods and argon2 work an attacker could otherwise ask for without limit.
 */
export interface RateLimits {
  /** Refused bearer credentials (unknown, revoked, expired) per IP per 10 minutes; beyond it every bearer request from the IP is a 429 (COFFER_RATE_LIMIT_AUTH_FAILURES_PER_IP). */
  authFailuresPerIp: number;
  /** POST /v1/sessions per IP / per email per 15 minutes (COFFER_RATE_LIMIT_SIGN_IN_PER_IP / _PER_EMAIL). */
  signInPerIp: number;
  signInPerEmail: number;
  /** Sign-ups and activation resends per IP / per email per hour (COFFER_RATE_LIMIT_SIGN_UP_PER_IP / _PER_EMAIL). */
  signUpPerIp: number;
  signUpPerEmail: number;
  /** Password-reset requests per IP / per email per hour (COFFER_RATE_LIMIT_PASSWORD_RESET_PER_IP / _PER_EMAIL). */
  passwordResetPerIp: number;
  passwordResetPerEmail: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = {
  authFailuresPerIp: 30,
  signInPerIp: 60,
  signInPerEmail: 10,
  signUpPerIp: 10,
  signUpPerEmail: 3,
  passwordResetPerIp: 10,
  passwordResetPerEmail: 3,
};

/** Money is in integer minor units (cents) of `currency`. See api/resources/billing/plans.ts. */
export interface BillingConfig {
  /** ISO 4217 code of every price and invoice (COFFER_BILLING_CURRENCY). */
  currency: string;
  /** Price of one protected (active) entity for one month, in minor units (COFFER_BILLING_ENTITY_MONTHLY_PRICE, default 300). */
  entityMonthlyPrice: number;
  /** Price of one stored GB (10^9 bytes) for one month, in minor units; 0 = not billed (COFFER_BILLING_STORAGE_GB_MONTHLY_PRICE, default 0). */
  storageGbMonthlyPrice: number;
  /** Percent off the annual plan, 12 × monthly (COFFER_BILLING_ANNUAL_DISCOUNT_PERCENT, default 10). */
  annualDiscountPercent: number;
  /** Entities billed at least, per period (COFFER_BILLING_MINIMUM_ENTITIES, default 1). */
  minimumEntities: number;
  /** Days after the period a monthly invoice is due by, then overdue (COFFER_BILLING_MONTHLY_TERMS_DAYS, default 7). */
  monthlyTermsDays: number;
  /** Days an annual invoice is payable in, the seed's 30 (COFFER_BILLING_ANNUAL_TERMS_DAYS). */
  annualTermsDays: number;
  /** Days after the first failed charge at which it is retried (COFFER_BILLING_RETRY_DAYS, default 1,3,7). */
  retryDays: number[];
  /** Days a suspended account (trial over, no subscription) keeps its data before deletion is scheduled (COFFER_BILLING_SUSPENSION_DAYS, default 14). */
  suspensionDays: number;
  /** Who issues the invoices (COFFER_BILLING_SELLER_NAME, _ADDRESS, _TAX_ID, _EMAIL). */
  seller: { name: string; address: string; taxId: string; email: string };
  /** The payment provider: `sandbox` (test cards, no payment company) (COFFER_BILLING_PROVIDER). */
  provider: 'sandbox';
  /** Run the sandbox although NODE_ENV is production (COFFER_BILLING_ALLOW_SANDBOX, default false). */
  allowSandbox: boolean;
}

export const OIDC_PROVIDERS = ['google', 'microsoft'] as const;
export type OidcProviderName = (typeof OIDC_PROVIDERS)[number];

/** An OpenID Connect provider Coffer signs users in with (authorization code + PKCE). */
export interface OidcProviderConfig {
  /** The issuer identifier; its /.well-known/openid-configuration is read once (discovery). */
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export type OidcConfig = Partial<Record<OidcProviderName, OidcProviderConfig>>;

export interface WebhookConfig {
  /** Allow endpoints on loopback / private / link-local addresses (COFFER_WEBHOOKS_ALLOW_PRIVATE; tests, on-premises). */
  allowPrivateTargets: boolean;
  /** Seconds to wait before each retry of a failed delivery (COFFER_WEBHOOK_RETRY_SCHEDULE, comma-separated); about a day in all. */
  retrySchedule: number[];
}

export type S3Config = S3LocationConfig;

export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(raw)) return true;
  if (/^(0|false|no|off)$/i.test(raw)) return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, protocols: string[]): string | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return raw.replace(/\/+$/, '');
}

function intList(env: Env, name: string, fallback: number[], min: number, max: number): number[] {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const parts = raw.split(',').map((p) => p.trim());
  if (!parts.every((p) => /^\d+$/.test(p))) throw new ConfigError(name, `must be comma-separated whole numbers, got "${raw}"`);
  const values = parts.map(Number);
  if (values.some((v) => v < min || v > max)) throw new ConfigError(name, `each value must be between ${min} and ${max}, got "${raw}"`);
  if (values.some((v, i) => i > 0 && v <= values[i - 1]!)) throw new ConfigError(name, `must be increasing, got "${raw}"`);
  return values;
}

export function billingConfig(env: Env): BillingConfig {
  const currency = (env.COFFER_BILLING_CURRENCY || 'USD').toUpperCase();
  let knownCurrency = false;
  try {
    knownCurrency = /^[A-Z]{3}$/.test(currency) && Intl.supportedValuesOf('currency').includes(currency);
  } catch {
    knownCurrency = /^[A-Z]{3}$/.test(currency);
  }
  if (!knownCurrency) throw new ConfigError('COFFER_BILLING_CURRENCY', `must be an ISO 4217 currency code, got "${env.COFFER_BILLING_CURRENCY}"`);
  const provider = env.COFFER_BILLING_PROVIDER || 'sandbox';
  if (provider !== 'sandbox') throw new ConfigError('COFFER_BILLING_PROVIDER', `unknown payment provider "${provider}" (available: sandbox)`);
  // The sandbox charges every Luhn-valid card "successfully" and moves no money: in production that
  // is free service for anyone, so NODE_ENV=production refuses it unless acknowledged.
  const allowSandbox = bool(env, 'COFFER_BILLING_ALLOW_SANDBOX', false);
  if (provider === 'sandbox' && env.NODE_ENV === 'production' && !allowSandbox) {
    throw new ConfigError('COFFER_BILLING_PROVIDER', 'is the sandbox (every valid card number is charged "successfully", no money moves) while NODE_ENV=production: configure a real payment provider, or set COFFER_BILLING_ALLOW_SANDBOX=true to run it anyway');
  }
  const sellerEmail = env.COFFER_BILLING_SELLER_EMAIL || 'billing@coffer.localhost';
  if (!/^[^@\s]+@[^@\s]+$/.test(sellerEmail)) throw new ConfigError('COFFER_BILLING_SELLER_EMAIL', `must be an email address, got "${sellerEmail}"`);
  return {
    currency,
    entityMonthlyPrice: int(env, 'COFFER_BILLING_ENTITY_MONTHLY_PRICE', 300, 0, 100_000_000),
    storageGbMonthlyPrice: int(env, 'COFFER_BILLING_STORAGE_GB_MONTHLY_PRICE', 0, 0, 100_000_000),
    annualDiscountPercent: int(env, 'COFFER_BILLING_ANNUAL_DISCOUNT_PERCENT', 10, 0, 90),
    minimumEntities: int(env, 'COFFER_BILLING_MINIMUM_ENTITIES', 1, 0, 1_000_000),
    monthlyTermsDays: int(env, 'COFFER_BILLING_MONTHLY_TERMS_DAYS', 7, 0, 90),
    annualTermsDays: int(env, 'COFFER_BILLING_ANNUAL_TERMS_DAYS', 30, 0, 180),
    retryDays: intList(env, 'COFFER_BILLING_RETRY_DAYS', [1, 3, 7], 1, 90),
    suspensionDays: int(env, 'COFFER_BILLING_SUSPENSION_DAYS', 14, 0, 365),
    seller: {
      name: env.COFFER_BILLING_SELLER_NAME || 'Coffer',
      address: env.COFFER_BILLING_SELLER_ADDRESS || '1 Example Street, Springfield, United States',
      taxId: env.COFFER_BILLING_SELLER_TAX_ID || '',
      email: sellerEmail,
    },
    provider,
    allowSandbox,
  };
}

/** Outside development (NODE_ENV other than development or test, unset included) the sandbox is worth a warning at every start. */
export function billingWarnings(env: Env, billing: BillingConfig): string[] {
  if (billing.provider !== 'sandbox' || env.NODE_ENV === 'development' || env.NODE_ENV === 'test') return [];
  return [`payment provider is the sandbox: every valid card number is charged "successfully" and no money moves (NODE_ENV=${env.NODE_ENV ?? '(unset)'}; set NODE_ENV=development to silence this on a development machine)`];
}

/**
 * The S3 location named by the variables `<p>BUCKET`, `<p>REGION`, … (`p` = `COFFER_S3_` for the
 * shared bucket, `COFFER_REGION_EU_WEST_1_S3_` for a region's own). A region's own location takes
 * the shared credentials when it names none, and signs for its own region id by default.
 */
function s3Config(env: Env, p = 'COFFER_S3_', defaults: { region?: string; accessKeyId?: string; secretAccessKey?: string } = {}): S3Config | undefined {
  const bucket = env[`${p}BUCKET`];
  if (!bucket) return undefined;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ConfigError(`${p}BUCKET`, `is not a valid bucket name: "${bucket}"`);
  const shared = p === 'COFFER_S3_';
  const accessKeyId = env[`${p}ACCESS_KEY_ID`] || (shared ? env.AWS_ACCESS_KEY_ID : defaults.accessKeyId);
  const secretAccessKey = env[`${p}SECRET_ACCESS_KEY`] || (shared ? env.AWS_SECRET_ACCESS_KEY : defaults.secretAccessKey);
  if (!accessKeyId) throw new ConfigError(`${p}ACCESS_KEY_ID`, `is required when ${p}BUCKET is set`);
  if (!secretAccessKey) throw new ConfigError(`${p}SECRET_ACCESS_KEY`, `is required when ${p}BUCKET is set`);
  const prefix = env[`${p}PREFIX`] ?? '';
  if (prefix.startsWith('/') || prefix.includes('..')) throw new ConfigError(`${p}PREFIX`, `must be a relative key prefix, got "${prefix}"`);
  const endpoint = url(env, `${p}ENDPOINT`, ['http:', 'https:']);
  return {
    bucket,
    region: env[`${p}REGION`] || (shared ? env.AWS_REGION : undefined) || defaults.region || 'us-east-1',
    endpoint,
    prefix: prefix && !prefix.endsWith('/') ? prefix + '/' : prefix,
    accessKeyId,
    secretAccessKey,
    forcePathStyle: bool(env, `${p}FORCE_PATH_STYLE`, endpoint !== undefined),
  };
}

/** `COFFER_REGION_<REGION ID, upper case, - as _>_S3_BUCKET` (and siblings) for each region that has one. */
export function regionVariablePrefix(regionId: string): string {
  return `COFFER_REGION_${regionId.toUpperCase().replace(/-/g, '_')}_S3_`;
}

function storageLocations(env: Env): Record<string, S3Config> {
  const known = new Set(REGIONS.map((r) => regionVariablePrefix(r.id)));
  for (const name of Object.keys(env)) {
    const m = /^(COFFER_REGION_[A-Z0-9_]+?_S3_)BUCKET$/.exec(name);
    if (m && !known.has(m[1]!)) throw new ConfigError(name, 'names no region of GET /v1/regions');
  }
  const out: Record<string, S3Config> = {};
  for (const { id } of REGIONS) {
    const location = s3Config(env, regionVariablePrefix(id), {
      region: id,
      accessKeyId: env.COFFER_S3_ACCESS_KEY_ID || env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.COFFER_S3_SECRET_ACCESS_KEY || env.AWS_SECRET_ACCESS_KEY,
    });
    if (location) out[id] = location;
  }
  return out;
}

export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = [30, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, 28800];

function webhookConfig(env: Env): WebhookConfig {
  const raw = env.COFFER_WEBHOOK_RETRY_SCHEDULE;
  let retrySchedule = DEFAULT_WEBHOOK_RETRY_SCHEDULE;
  if (raw) {
    retrySchedule = raw.split(',').map((s) => Number(s.trim()));
    if (retrySchedule.some((n) => !Number.isInteger(n) || n < 1 || n > 86400)) {
      throw new ConfigError('COFFER_WEBHOOK_RETRY_SCHEDULE', `must be comma-separated whole seconds (1–86400), got "${raw}"`);
    }
  }
  return { allowPrivateTargets: bool(env, 'COFFER_WEBHOOKS_ALLOW_PRIVATE', false), retrySchedule };
}

const OIDC_DEFAULT_ISSUERS: Record<OidcProviderName, string | undefined> = {
  google: 'https://accounts.google.com',
  // Microsoft's multi-tenant endpoints publish a templated issuer ("{tenantid}") that no ID token
  // carries, so the issuer of one tenant must be named: https://login.microsoftonline.com/<tenant id>/v2.0.
  microsoft: undefined,
};

export function oidcConfig(env: Env): OidcConfig {
  const out: OidcConfig = {};
  for (const name of OIDC_PROVIDERS) {
    const prefix = `COFFER_OIDC_${name.toUpperCase()}`;
    const clientId = env[`${prefix}_CLIENT_ID`];
    if (!clientId) continue;
    const clientSecret = env[`${prefix}_CLIENT_SECRET`];
    if (!clientSecret) throw new ConfigError(`${prefix}_CLIENT_SECRET`, `is required when ${prefix}_CLIENT_ID is set`);
    const issuer = url(env, `${prefix}_ISSUER`, ['https:', 'http:']) ?? OIDC_DEFAULT_ISSUERS[name];
    if (!issuer) throw new ConfigError(`${prefix}_ISSUER`, `is required when ${prefix}_CLIENT_ID is set (e.g. https://login.microsoftonline.com/<tenant id>/v2.0)`);
    const host = new URL(issuer).hostname;
    // Plain http only for a provider on this machine (development, tests): ID tokens travel in it.
    if (issuer.startsWith('http:') && !['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
      throw new ConfigError(`${prefix}_ISSUER`, `must use https: (http only on 127.0.0.1 or localhost), got ${issuer}`);
    }
    out[name] = { issuer, clientId, clientSecret };
  }
  return out;
}

function rateLimits(env: Env): RateLimits {
  const d = DEFAULT_RATE_LIMITS;
  const n = (name: string, fallback: number) => int(env, `COFFER_RATE_LIMIT_${name}`, fallback, 1, 1_000_000);
  return {
    authFailuresPerIp: n('AUTH_FAILURES_PER_IP', d.authFailuresPerIp),
    signInPerIp: n('SIGN_IN_PER_IP', d.signInPerIp),
    signInPerEmail: n('SIGN_IN_PER_EMAIL', d.signInPerEmail),
    signUpPerIp: n('SIGN_UP_PER_IP', d.signUpPerIp),
    signUpPerEmail: n('SIGN_UP_PER_EMAIL', d.signUpPerEmail),
    passwordResetPerIp: n('PASSWORD_RESET_PER_IP', d.passwordResetPerIp),
    passwordResetPerEmail: n('PASSWORD_RESET_PER_EMAIL', d.passwordResetPerEmail),
  };
}

/** `scheme://host[:port]` each, exactly as a browser sends Origin (no path, no trailing slash), or `*`. */
function corsOrigins(env: Env): string[] {
  const list = (env.COFFER_CORS_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of list) {
    if (origin === '*') continue;
    let parsed: URL | undefined;
    try {
      parsed = new URL(origin);
    } catch {
      parsed = undefined;
    }
    if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') || parsed.origin !== origin) {
      throw new ConfigError('COFFER_CORS_ORIGINS', `each entry must be an origin such as https://app.example.com (scheme, host and port only), got "${origin}"`);
    }
  }
  return list;
}

export function loadConfig(env: Env = process.env, role: Role = 'all'): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const defaultRegion = env.COFFER_DEFAULT_REGION || 'us-east-1';
  if (!REGION_IDS.has(defaultRegion)) {
    throw new ConfigError('COFFER_DEFAULT_REGION', `unknown region "${defaultRegion}" (see GET /v1/regions)`);
  }
  const shared = s3Config(env);
  const locations = storageLocations(env);
  if (!regionOffered({ s3: shared, storageLocations: locations }, defaultRegion)) {
    throw new ConfigError('COFFER_DEFAULT_REGION', `region "${defaultRegion}" has no storage location (set ${regionVariablePrefix(defaultRegion)}BUCKET or COFFER_S3_BUCKET)`);
  }
  const masterKey = env.COFFER_MASTER_KEY || undefined;
  const previousKeys = (env.COFFER_MASTER_KEY_PREVIOUS || '').split(',').filter((k) => k.trim());
  for (const [name, specs] of [['COFFER_MASTER_KEY', masterKey === undefined ? [] : [masterKey]], ['COFFER_MASTER_KEY_PREVIOUS', previousKeys]] as const) {
    for (const spec of specs) {
      try {
        parseMasterKeyVersion(spec, name);
      } catch {
        throw new ConfigError(name, 'must be 32 bytes, base64-encoded, optionally preceded by its version (`2:<base64>`)');
      }
    }
  }
  if (previousKeys.length && masterKey === undefined) throw new ConfigError('COFFER_MASTER_KEY_PREVIOUS', 'needs COFFER_MASTER_KEY (the new key)');
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  if (role !== 'all' && databaseUrl === undefined) {
    throw new ConfigError('DATABASE_URL', `is required with --role ${role} (the embedded database serves a single process)`);
  }
  const trust = env.COFFER_TRUST_PROXY;
  const smtpUrl = url(env, 'SMTP_URL', ['smtp:', 'smtps:']);
  const mailFrom = env.COFFER_MAIL_FROM || 'Coffer <no-reply@coffer.localhost>';
  if (!/^(?:[^<>@\s]+@[^<>@\s]+\.?[^<>@\s]*|[^<>]*<[^<>@\s]+@[^<>@\s]+>)$/.test(mailFrom.trim())) {
    throw new ConfigError('COFFER_MAIL_FROM', `must be an email address or "Name <address>", got "${mailFrom}"`);
  }
  const dropboxApiUrl = url(env, 'COFFER_DROPBOX_API_URL', ['http:', 'https:']);
  const billing = billingConfig(env);
  // Against the emulator any app credentials are accepted, so local runs need none configured.
  const localDefault = (value: string) => (dropboxApiUrl ? value : undefined);
  return {
    role,
    port,
    host,
    databaseUrl,
    dataDir: resolve(env.COFFER_DATA_DIR || '.data'),
    publicUrl: url(env, 'COFFER_PUBLIC_URL', ['http:', 'https:']) ?? `http://${host}:${port}`,
    signupEnabled: bool(env, 'COFFER_SIGNUP_ENABLED', true),
    defaultRegion,
    rateLimitPerMinute: int(env, 'COFFER_RATE_LIMIT_PER_MINUTE', 600, 1, 1_000_000),
    rateLimits: rateLimits(env),
    logLevel: env.LOG_LEVEL || 'info',
    masterKey,
    trustProxy: trust === undefined || trust === '' ? false : /^(1|true)$/i.test(trust) ? true : trust,
    smtpUrl,
    mailFrom: mailFrom.trim(),
    dropbox: {
      appKey: env.COFFER_DROPBOX_APP_KEY || localDefault('coffer-local'),
      appSecret: env.COFFER_DROPBOX_APP_SECRET || localDefault('coffer-local-secret'),
      apiUrl: dropboxApiUrl,
      maxCallsPerSecond: int(env, 'COFFER_DROPBOX_MAX_CALLS_PER_SECOND', 0, 0, 10_000),
    },
    s3: shared,
    storageLocations: locations,
    storageAllowPrivateEndpoints: bool(env, 'COFFER_STORAGE_ALLOW_PRIVATE_ENDPOINTS', false),
    samlMetadataTrustedHosts: (env.COFFER_SAML_METADATA_TRUSTED_HOSTS ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
    billing,
    webhooks: webhookConfig(env),
    corsOrigins: corsOrigins(env),
    oidc: oidcConfig(env),
    warnings: billingWarnings(env, billing),
  };
}
