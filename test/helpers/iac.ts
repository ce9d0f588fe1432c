// Running `coffer iac` as a pipeline runs it: the CLI in a child process, in a configuration
// directory of its own, against a live server.
import type { Test } from 'tap';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_BIN, cli, type Run } from './cli.ts';

export interface IacDir {
  dir: string;
  env: Record<string, string>;
  write(files: Record<string, string>): Promise<void>;
  run(...args: string[]): Promise<Run>;
  /** The command started in the background: a real process the test may kill. */
  start(...args: string[]): { child: ChildProcess; done: Promise<Run> };
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
    start(...args) {
      const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COFFER_')));
      const child = spawn(process.execPath, [CLI_BIN, 'iac', `-chdir=${dir}`, ...args], { env: { ...inherited, ...env } });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      child.stdin!.end();
      const done = new Promise<Run>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      return { child, done };
    },
    state: async () => JSON.parse(await readFile(join(dir, 'coffer.tfstate'), 'utf8')),
  };
}
