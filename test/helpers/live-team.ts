// A Dropbox team (the emulator) and a live Coffer (workers running) with an account, for tests
// that drive the product end to end from outside: the CLI, the examples. Nothing is connected
// yet; `connect` plays the whole onboarding through the API and the administrator's browser.
import type { Test } from 'tap';
import type { Emulator } from '../dropbox-emulator/server.ts';
import type { Member } from '../dropbox-emulator/state.ts';
import { startTestApp, type SignedUp, type TestApp, type TestAppOptions } from './app.ts';
import { approveInBrowser, dropboxConfig, startDropbox } from './dropbox.ts';

export interface LiveTeam {
  api: TestApp;
  emu: Emulator;
  account: SignedUp;
  /** A member holding `files`. */
  member: Member;
  /** COFFER_API_URL and COFFER_API_KEY of the account. */
  env: { COFFER_API_URL: string; COFFER_API_KEY: string };
  /** Plays the admin's browser: Coffer's confirmation page, Dropbox's consent, Coffer's callback. */
  approve(authorizeUrl: string): Promise<void>;
  /** Creates a task through the API, approves it, and waits until the member's entity is active. */
  connect(): Promise<{ taskId: string; entityId: string }>;
}

export async function startLiveTeam(t: Test, files: Record<string, Buffer | string>, opts: TestAppOptions = {}): Promise<LiveTeam> {
  const emu = await startDropbox(t);
  emu.state.addMember({ email: 'ada.admin@team.test', givenName: 'Ada', surname: 'Admin', admin: true });
  const member = emu.state.addMember({ email: 'bob@team.test', givenName: 'Bob', surname: 'Builder' });
  for (const [path, content] of Object.entries(files)) emu.state.putFile(member, path, content);
  const api = await startTestApp(t, { ...opts, workers: true, config: { ...dropboxConfig(emu), storageAllowPrivateEndpoints: true, ...opts.config } });
  const account = await api.signUp();
  const approve = async (authorizeUrl: string) => {
    const approval = await approveInBrowser(api, authorizeUrl);
    const callback = await api.request('GET', approval.path, { headers: approval.headers });
    if (callback.status >= 400) throw new Error(`OAuth callback answered ${callback.status}: ${callback.text}`);
  };
  return {
    api, emu, account, member, approve,
    env: { COFFER_API_URL: api.url, COFFER_API_KEY: account.key },
    async connect() {
      const created = await api.request('POST', '/v1/tasks', { key: account.key, body: { name: 'Team', auto_activate: true } });
      if (created.status !== 201) throw new Error(`task: ${created.status} ${created.text}`);
      await approve(created.body.authorize_url);
      for (let i = 0; i < 300; i++) {
        const list = await api.request('GET', '/v1/entities?limit=100', { key: account.key });
        const entity = list.body?.data?.find((e: { email?: string; status: string }) => e.email === 'bob@team.test');
        if (entity && entity.status !== 'not_active') return { taskId: created.body.id, entityId: entity.id };
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('the member was never discovered and activated');
    },
  };
}
