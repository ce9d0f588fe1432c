// Driving the admin resource types through the IaC engine in process (plan, apply, destroy, import
// from sdk/iac/run.ts) against a live server, with the state in Coffer (the `coffer` backend).
import type { Test } from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Coffer } from '../../sdk/client.ts';
import { RemoteBackend } from '../../sdk/iac/backends/remote.ts';
import { apply, destroy, importResource, plan } from '../../sdk/iac/run.ts';
import type { Plan } from '../../sdk/iac/plan.ts';
import { startTestApp, type SignedUp, type TestApp, type TestAppOptions } from './app.ts';

export interface AdminIac {
  api: TestApp;
  admin: SignedUp;
  client: Coffer;
  backend: RemoteBackend;
  /** Replaces main.tf. */
  config(hcl: string): Promise<void>;
  plan(): Promise<Plan>;
  apply(): Promise<Awaited<ReturnType<typeof apply>>>;
  destroy(): Promise<Awaited<ReturnType<typeof destroy>>>;
  import(address: string, id: string): Promise<{ id: string }>;
  /** `address → action` of every change that is not a no-op. */
  actions(p: Plan): Record<string, string>;
  /** The attributes state holds for an address. */
  stateOf(address: string): Promise<Record<string, unknown> | undefined>;
}

export async function adminIac(t: Test, opts: TestAppOptions = {}): Promise<AdminIac> {
  const api = await startTestApp(t, opts);
  const admin = await api.signUp();
  const client = new Coffer({ baseUrl: api.url, apiKey: admin.key });
  const backend = new RemoteBackend(client, 'test');
  const dir = await mkdtemp(join(tmpdir(), 'coffer-iac-admin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const options = () => ({ dir, client, backend });
  return {
    api, admin, client, backend,
    config: (hcl) => writeFile(join(dir, 'main.tf'), hcl),
    plan: () => plan(options()),
    apply: () => apply(options()),
    destroy: () => destroy(options()),
    import: (address, id) => importResource(options(), address, id),
    actions: (p) => Object.fromEntries(p.changes.filter((c) => c.action !== 'noop').map((c) => [c.address, c.action])),
    async stateOf(address) {
      const read = await backend.read();
      const state = read?.state as { resources: { type: string; name: string; instances: { attributes: Record<string, unknown> }[] }[] } | undefined;
      const [type, name] = address.split('.');
      return state?.resources.find((r) => r.type === type && r.name === name)?.instances[0]?.attributes;
    },
  };
}
