// `npm run chaos`: the whole crash series (test/chaos/harness.ts), not part of `npm test`.
// CHAOS_SEED replays a series; CHAOS_BACKUPS / CHAOS_RESTORES / CHAOS_EXPORTS change its length.
import t from 'tap';
import { chaosSeed, runChaos } from './harness.ts';

const count = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);

t.test('crash series: every job SIGKILLed at a random moment, restarted, and finished correctly', (t) =>
  runChaos(t, {
    seed: chaosSeed(),
    backups: count('CHAOS_BACKUPS', 20),
    restores: count('CHAOS_RESTORES', 10),
    exports: count('CHAOS_EXPORTS', 10),
  }));
