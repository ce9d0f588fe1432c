// A Dropbox emulator for API tests, and the configuration that points Coffer at it.
import type { Test } from 'tap';
import { startEmulator, type Emulator } from '../dropbox-emulator/server.ts';
import type { Config } from '../../api/config.ts';

export const APP_KEY = 'coffer-test-app';
export const APP_SECRET = 'coffer-test-secret';
/** The redirect URI host: never fetched by the emulator, only matched between authorize and token. */
export const PUBLIC_URL = 'http://coffer.test';

export async function startDropbox(t: Test, opts: { accessTokenTtlSeconds?: number } = {}): Promise<Emulator> {
  const emu = await startEmulator({ appKey: APP_KEY, appSecret: APP_SECRET, ...opts });
  t.teardown(() => emu.close());
  return emu;
}

export function dropboxConfig(emu: Emulator): Partial<Config> {
  return { publicUrl: PUBLIC_URL, dropbox: { appKey: APP_KEY, appSecret: APP_SECRET, apiUrl: emu.url } };
}

/** Plays the administrator's browser: opens the authorize URL and returns the callback path Dropbox redirects to. */
export async function approveInBrowser(authorizeUrl: string): Promise<string> {
  const res = await fetch(authorizeUrl, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  const location = new URL(res.headers.get('location')!);
  if (location.origin !== PUBLIC_URL) throw new Error(`redirected to ${location.href}`);
  return location.pathname + location.search;
}
