// The local state backend: `coffer.tfstate` beside the configuration (or -state=PATH), the previous
// version kept as `<path>.backup`, and a lock file `<path>.lock.info` created exclusively, so two
// runs on one state cannot both change it. A lock left by a process that died on this machine
// (killed mid-apply) is taken over, since nobody can release it otherwise; on another machine it
// is reported and `coffer iac force-unlock ID` removes it.
import { createHash, randomUUID } from 'node:crypto';
import { copyFile, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname, userInfo } from 'node:os';
import type { StateBackend } from '../types.ts';
import { StateError } from '../errors.ts';

interface LockInfo {
  ID: string;
  Operation: string;
  Who: string;
  Created: string;
  Host: string;
  Pid: number;
}

function version(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function whoAmI(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch { /* no passwd entry (containers) */ }
  return `${user}@${hostname()}`;
}

export class LocalBackend implements StateBackend {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }

  get lockPath(): string {
    return `${this.path}.lock.info`;
  }

  async read(): Promise<{ state: unknown; version: string } | null> {
    const text = await readText(this.path);
    if (text === null) return null;
    try {
      return { state: JSON.parse(text), version: version(text) };
    } catch (err) {
      throw new StateError(`${this.path} is not valid JSON: ${(err as Error).message}`);
    }
  }

  async write(state: unknown, expected: string | null): Promise<string> {
    const current = await readText(this.path);
    if ((current === null ? null : version(current)) !== expected) {
      throw new StateError(`${this.path} was changed by someone else since it was read; run again`);
    }
    if (current !== null) await copyFile(this.path, `${this.path}.backup`);
    const text = JSON.stringify(state, null, 2) + '\n';
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, text, { mode: 0o600 });
    await rename(tmp, this.path);
    return version(text);
  }

  async lock(info: { operation: string; who: string }): Promise<{ id: string }> {
    const lock: LockInfo = { ID: randomUUID(), Operation: info.operation, Who: info.who, Created: new Date().toISOString(), Host: hostname(), Pid: process.pid };
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const file = await open(this.lockPath, 'wx', 0o600);
        await file.writeFile(JSON.stringify(lock, null, 2) + '\n');
        await file.close();
        return { id: lock.ID };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const held = await this.#held();
      if (held && held.Host === hostname() && typeof held.Pid === 'number' && !alive(held.Pid)) {
        process.stderr.write(`Taking over the state lock ${held.ID}: its process (${held.Pid}, ${held.Operation} by ${held.Who}) is gone.\n`);
        await unlink(this.lockPath).catch(() => undefined);
        continue;
      }
      if (held) {
        throw new StateError(`Error acquiring the state lock: ${this.path} is locked by ${held.Who} (${held.Operation}, since ${held.Created}, lock ID ${held.ID}). Wait for that run, or if it is gone run: coffer iac force-unlock ${held.ID}`);
      }
    }
    throw new StateError(`Error acquiring the state lock: ${this.lockPath} exists`);
  }

  async #held(): Promise<LockInfo | null> {
    const text = await readText(this.lockPath);
    if (!text) return null;
    try {
      return JSON.parse(text) as LockInfo;
    } catch {
      return null;
    }
  }

  async unlock(id: string): Promise<void> {
    const held = await this.#held();
    if (held?.ID === id) await unlink(this.lockPath).catch(() => undefined);
  }

  async forceUnlock(id: string): Promise<void> {
    const held = await this.#held();
    if (!held) throw new StateError('the state is not locked');
    if (held.ID !== id) throw new StateError(`the lock ID is ${held.ID}, not ${id}`);
    await unlink(this.lockPath);
  }
}
