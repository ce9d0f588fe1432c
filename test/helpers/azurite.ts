// A throw-away Azurite blob service (in-memory, on a free port) in a child process.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface RunningAzurite {
  endpoint: string;
  account: string;
  key: string;
  connectionString: string;
  stop(): Promise<void>;
}

// Azurite's well-known development account.
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export async function startAzurite(): Promise<RunningAzurite> {
  const cwd = await mkdtemp(join(tmpdir(), 'coffer-azurite-'));
  const main = fileURLToPath(new URL('../../node_modules/azurite/dist/src/blob/main.js', import.meta.url));
  const child = spawn(process.execPath, [main, '--blobHost', '127.0.0.1', '--blobPort', '0', '--inMemoryPersistence', '--skipApiVersionCheck', '--loose'], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`azurite exited early with code ${code}: ${output}`)));
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
      const m = /successfully listens on (http:\/\/[^\s]+)/.exec(output);
      if (m) resolve(m[1]!);
    });
  });
  const endpoint = `${url}/${ACCOUNT}`;
  return {
    endpoint,
    account: ACCOUNT,
    key: KEY,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${endpoint};`,
    async stop() {
      if (child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        // Azurite waits for open keep-alive connections before exiting: do not wait for it long.
        const timer = setTimeout(() => child.kill('SIGKILL'), 1000);
        await exited;
        clearTimeout(timer);
      }
      await rm(cwd, { recursive: true, force: true });
    },
  };
}
