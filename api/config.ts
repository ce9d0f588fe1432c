// Configuration comes from the environment only, is validated once at start-up, and a bad value
// stops the process with one line naming the variable (ConfigError.message).
import { resolve } from 'node:path';
import { REGION_IDS } from './regions.ts';

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
  logLevel: string;
  /** Base64 32-byte key; unset → generated once into dataDir. */
  masterKey: string | undefined;
  trustProxy: boolean | string;
}

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

export function loadConfig(env: Env = process.env, role: Role = 'all'): Config {
  const port = int(env, 'PORT', 8080, 0, 65535);
  const host = env.HOST || '127.0.0.1';
  const defaultRegion = env.COFFER_DEFAULT_REGION || 'us-east-1';
  if (!REGION_IDS.has(defaultRegion)) {
    throw new ConfigError('COFFER_DEFAULT_REGION', `unknown region "${defaultRegion}" (see GET /v1/regions)`);
  }
  const masterKey = env.COFFER_MASTER_KEY || undefined;
  if (masterKey !== undefined && Buffer.from(masterKey, 'base64').length !== 32) {
    throw new ConfigError('COFFER_MASTER_KEY', 'must be 32 bytes, base64-encoded');
  }
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  if (role !== 'all' && databaseUrl === undefined) {
    throw new ConfigError('DATABASE_URL', `is required with --role ${role} (the embedded database serves a single process)`);
  }
  const trust = env.COFFER_TRUST_PROXY;
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
    logLevel: env.LOG_LEVEL || 'info',
    masterKey,
    trustProxy: trust === undefined || trust === '' ? false : /^(1|true)$/i.test(trust) ? true : trust,
  };
}
