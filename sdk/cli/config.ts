// CLI profiles: $XDG_CONFIG_HOME/coffer/config.json (else ~/.config/coffer/config.json), readable
// by its owner only (0600) because it holds API keys. COFFER_API_URL and COFFER_API_KEY (or
// --api-url / --api-key) override the profile for one run, e.g. in CI.
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Profile {
  apiUrl: string;
  apiKey: string;
  account?: string;
}

export interface Config {
  /** The profile used when --profile is not given. */
  current?: string;
  profiles: Record<string, Profile>;
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'coffer', 'config.json');
}

export async function readConfig(path: string): Promise<Config> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<Config>;
    const profiles: Record<string, Profile> = {};
    // Files written before the rename to apiUrl carry `baseUrl`.
    for (const [name, p] of Object.entries(parsed.profiles ?? {})) {
      const { baseUrl, ...rest } = p as Profile & { baseUrl?: string };
      profiles[name] = { ...rest, apiUrl: rest.apiUrl ?? baseUrl ?? '' };
    }
    return { ...(parsed.current ? { current: parsed.current } : {}), profiles };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { profiles: {} };
    throw err;
  }
}

/** Writes the whole file anew with mode 0600 (a temporary file renamed over it: never half-written). */
export async function writeConfig(path: string, config: Config): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await chmod(temporary, 0o600); // whatever the umask
  await rename(temporary, path);
}
