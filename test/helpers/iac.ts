// Running `coffer iac` as a pipeline runs it: the CLI in a child process, in a configuration
// directory of its own, against a live server.
import type { Test } from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, type Run } from './cli.ts';

export interface IacDir {
  dir: string;
  env: Record<string, string>;
  write(files: Record<string, string>): Promise<void>;
  run(...args: string[]): Promise<Run>;
  state(): Promise<any>;
}

export async function iacDir(t: Test, api: { url: string }, key: string): Promise<IacDir> {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-iac-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const env = { COFFER_API_URL: api.url, COFFER_API_KEY: key, XDG_CONFIG_HOME: dir };
  return {
    dir,
    env,
    async write(files) {
      for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    },
    run: (...args) => cli(env, ['iac', `-chdir=${dir}`, ...args]),
    state: async () => JSON.parse(await readFile(join(dir, 'coffer.tfstate'), 'utf8')),
  };
}
