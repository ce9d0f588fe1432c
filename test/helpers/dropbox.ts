// A Dropbox emulator for API tests, and the configuration that points Coffer at it.
import type { Test } from 'tap';
import { startEmulator, type Emulator } from '../dropbox-emulator/server.ts';
import type { Config } from '../../api/config.ts';
import type { TestApp } from './app.ts';

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

/** A browser's cookie jar, as far as these flows need one (name=value, no attributes). */
export class CookieJar {
  readonly cookies = new Map<string, string>();
  take(res: { headers: Headers }) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
  }
  header(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }
}

export interface Approval {
  /** The confirmation page Coffer showed first. */
  page: string;
  /** Dropbox's authorize URL the page's Continue button led to. */
  dropboxUrl: string;
  /** The callback path and query Dropbox redirected to. */
  path: string;
  /** The browser's cookies, to send with the callback. */
  headers: Record<string, string>;
}

/** The page's form fields. */
export function formFields(page: string): Record<string, string> {
  return Object.fromEntries([...page.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)">/g)].map((m) => [m[1]!, m[2]!]));
}

/**
 * Plays the Dropbox team administrator's browser: opens the task's authorize_url (Coffer's
 * confirmation page), continues, approves at Dropbox (the emulator), and answers where Dropbox
 * sends the browser back, with the cookies the browser would send there.
 */
export async function approveInBrowser(api: TestApp, authorizeUrl: string, jar = new CookieJar()): Promise<Approval> {
  const url = new URL(authorizeUrl);
  if (url.origin !== PUBLIC_URL) throw new Error(`authorize_url is not Coffer's: ${authorizeUrl}`);
  const page = await api.request('GET', url.pathname + url.search, { headers: jar.header() });
  if (page.status !== 200) throw new Error(`confirmation page answered ${page.status}: ${page.text}`);
  jar.take(page);
  const dropboxUrl = await continueToDropbox(api, jar, formFields(page.text));
  const res = await fetch(dropboxUrl, { redirect: 'manual' });
  if (res.status !== 302) throw new Error(`authorize answered ${res.status}: ${await res.text()}`);
  const location = new URL(res.headers.get('location')!);
  if (location.origin !== PUBLIC_URL) throw new Error(`redirected to ${location.href}`);
  return { page: page.text, dropboxUrl, path: location.pathname + location.search, headers: jar.header() };
}

/** Presses Continue on the confirmation page: answers Dropbox's authorize URL. */
export async function continueToDropbox(api: TestApp, jar: CookieJar, fields: Record<string, string>): Promise<string> {
  const res = await fetch(`${api.url}/v1/oauth/dropbox/authorize`, {
    method: 'POST',
    body: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...jar.header() },
    redirect: 'manual',
  });
  if (res.status !== 303) throw new Error(`continue answered ${res.status}: ${await res.text()}`);
  jar.take(res);
  return res.headers.get('location')!;
}
