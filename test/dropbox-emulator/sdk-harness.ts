// Test harness: an emulator plus real `dropbox` SDK clients pointed at it through an origin-rewriting fetch.
import { Dropbox, DropboxAuth } from 'dropbox';
import { startEmulator, type Emulator, type EmulatorOptions } from './server.ts';

export interface Harness {
  emu: Emulator;
  /** fetch that sends any Dropbox URL to the emulator, keeping path + query. */
  fetch: (url: string, init?: RequestInit) => Promise<Response>;
  auth: DropboxAuth;
  /** Team client without select headers (team/* routes). */
  team: Dropbox;
  asUser(teamMemberId: string, pathRoot?: string): Dropbox;
  asAdmin(teamMemberId: string, namespaceId?: string): Dropbox;
}

export const CLIENT_ID = 'emu-app-key';
export const CLIENT_SECRET = 'emu-app-secret';

export function emulatorFetch(emu: Emulator) {
  return (url: string, init?: RequestInit): Promise<Response> => {
    const u = new URL(url);
    return fetch(`${emu.url}${u.pathname}${u.search}`, init);
  };
}

/** Starts an emulator (closed in t.teardown); `seed` runs before tokens are issued. */
export async function harness(t: { teardown(fn: () => unknown): void }, opts: EmulatorOptions = {}, seed?: (emu: Emulator) => void): Promise<Harness> {
  const emu = await startEmulator(opts);
  t.teardown(() => emu.close());
  seed?.(emu);
  const f = emulatorFetch(emu);
  const { refreshToken } = emu.state.issueTeamTokens(CLIENT_ID);
  const auth = new DropboxAuth({ refreshToken, clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, fetch: f });
  return {
    emu,
    fetch: f,
    auth,
    team: new Dropbox({ auth, fetch: f }),
    asUser: (id, pathRoot) => new Dropbox({ auth, fetch: f, selectUser: id, ...(pathRoot ? { pathRoot } : {}) }),
    asAdmin: (id, ns) => new Dropbox({ auth, fetch: f, selectAdmin: id, ...(ns ? { pathRoot: JSON.stringify({ '.tag': 'namespace_id', namespace_id: ns }) } : {}) }),
  };
}

/** Runs `fn`, expecting a DropboxResponseError-like rejection; returns it. */
export async function rejection(fn: () => Promise<unknown>): Promise<{ status: number; error: any; headers: Headers }> {
  try {
    await fn();
  } catch (e) {
    return e as { status: number; error: any; headers: Headers };
  }
  throw new Error('expected the call to fail');
}
