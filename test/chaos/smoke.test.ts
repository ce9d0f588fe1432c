// The crash series in small (test/chaos/harness.ts): one backup and one restore, each with the
// worker SIGKILLed at a random moment and restarted. `npm run chaos` runs the whole series
// (exports too).
import t from 'tap';
import { chaosSeed, runChaos } from './harness.ts';

t.test('crash series smoke: a backup and a restore survive a SIGKILL each', (t) =>
  runChaos(t, { seed: chaosSeed(), backups: 1, restores: 1, exports: 0, files: 150, bigFiles: 1, killWithinMs: 1_500 }));
