// State backends by the name a configuration gives them: `terraform { backend "local" { path = … } }`.
// Without a backend block the state is the local file coffer.tfstate beside the configuration.
import { isAbsolute, join } from 'node:path';
import type { Coffer } from '../../client.ts';
import type { StateBackend } from '../types.ts';
import { LocalBackend } from './local.ts';
import { RemoteBackend } from './remote.ts';

export interface BackendContext {
  /** The configuration directory. */
  dir: string;
  /** The provider's client (a remote backend keeps state in Coffer itself). */
  client: Coffer;
}

export type BackendFactory = (args: Record<string, unknown>, ctx: BackendContext) => StateBackend;

export const BACKENDS: Record<string, BackendFactory> = {
  local: (args, { dir }) => {
    const path = typeof args.path === 'string' ? args.path : 'coffer.tfstate';
    return new LocalBackend(isAbsolute(path) ? path : join(dir, path));
  },
  // State kept by Coffer itself (`/v1/iac/states/{name}`), through the provider's credentials, so a
  // pipeline needs no storage of its own: `terraform { backend "coffer" { name = "prod" } }`.
  coffer: (args, { client }) => new RemoteBackend(client, typeof args.name === 'string' ? args.name : 'default'),
};
