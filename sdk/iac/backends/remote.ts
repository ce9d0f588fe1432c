// The `coffer` state backend: the state is kept by Coffer itself (`/v1/iac/states/{name}`), so a
// pipeline needs no file and no other service. The version token is the state's serial (the
// server's ETag `"v<serial>"`): a write names the serial it was based on, and a state moved by
// another run since is refused instead of overwritten. While this backend holds the state's lock it
// sends the lock id (`Coffer-Lock-Id`) with every write, as the server requires.
import type { Coffer } from '../../client.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import type { StateBackend } from '../types.ts';
import { StateError } from '../errors.ts';

interface LockInfo {
  id: string;
  who: string;
  operation: string;
  created_at: string;
}

const serialOf = (etag: string | undefined) => /^(?:W\/)?"v(\d+)"$/.exec(etag ?? '')?.[1];

export class RemoteBackend implements StateBackend {
  readonly client: Coffer;
  /** The state's name in the account (`prod`, `team-a.eu`). */
  readonly name: string;
  #lockId: string | undefined;

  constructor(client: Coffer, name: string) {
    this.client = client;
    this.name = name;
  }

  #lockHeaders(): { headers?: Record<string, string> } {
    return this.#lockId ? { headers: { 'coffer-lock-id': this.#lockId } } : {};
  }

  #lockedError(err: ConflictError, prefix: string): StateError {
    const lock = err.problem?.lock as LockInfo | undefined;
    if (!lock) return new StateError(`${prefix}: ${err.problem?.detail ?? err.message}`);
    return new StateError(`${prefix}: state "${this.name}" is locked by ${lock.who} (${lock.operation}, since ${lock.created_at}, lock ID ${lock.id}). `
      + `Wait for that run, or if it is gone run: coffer iac force-unlock ${lock.id}`);
  }

  async read(): Promise<{ state: unknown; version: string } | null> {
    try {
      const state = await this.client.iac.states.get(this.name);
      const serial = serialOf(state.lastResponse.etag);
      if (serial === undefined) throw new StateError(`state "${this.name}": the server sent no serial (ETag ${state.lastResponse.etag ?? 'missing'})`);
      // The document without the SDK's non-enumerable lastResponse.
      return { state: JSON.parse(JSON.stringify(state)), version: serial };
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  async write(state: unknown, expected: string | null): Promise<string> {
    try {
      const saved = await this.client.iac.states.update(this.name, state as Parameters<Coffer['iac']['states']['update']>[1], {
        ...(expected === null ? {} : { ifMatch: `"v${expected}"` }),
        ...this.#lockHeaders(),
      });
      return String(saved.serial);
    } catch (err) {
      if (err instanceof ConflictError) {
        if (err.code === 'state_locked') throw this.#lockedError(err, 'Error saving the state');
        if (err.code === 'precondition_failed') {
          throw new StateError(`state "${this.name}" was changed by someone else since it was read (${err.problem?.detail ?? 'stale serial'}); run again`);
        }
        throw new StateError(`Error saving state "${this.name}": ${err.problem?.detail ?? err.message} (${err.code})`);
      }
      throw err;
    }
  }

  async lock(info: { operation: string; who: string }): Promise<{ id: string }> {
    try {
      const lock = await this.client.iac.states.lock(this.name, { operation: info.operation, who: info.who });
      this.#lockId = lock.id;
      return { id: lock.id };
    } catch (err) {
      if (err instanceof ConflictError && err.code === 'state_locked') throw this.#lockedError(err, 'Error acquiring the state lock');
      throw err;
    }
  }

  async unlock(id: string): Promise<void> {
    try {
      await this.client.iac.states.unlock(this.name, { id });
    } catch (err) {
      // Already released (or the state was deleted with its lock): nothing is left to do.
      if (!(err instanceof NotFoundError) && !(err instanceof ConflictError && err.code === 'state_not_locked')) throw err;
    } finally {
      if (this.#lockId === id) this.#lockId = undefined;
    }
  }

  async forceUnlock(id: string): Promise<void> {
    try {
      await this.client.iac.states.unlock(this.name, { id, force: true });
    } catch (err) {
      if (err instanceof NotFoundError || (err instanceof ConflictError && err.code === 'state_not_locked')) throw new StateError(`state "${this.name}" is not locked`);
      if (err instanceof ConflictError && err.code === 'lock_id_mismatch') throw new StateError(`Error force-unlocking state "${this.name}": ${err.problem?.detail ?? err.message}`);
      throw err;
    }
  }
}
