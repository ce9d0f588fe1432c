// The layer check (.dependency-cruiser.cjs, `npm run lint:layers`) fails on a back-arrow or a
// cycle and lets through what its header allows. It runs the real configuration over a scratch tree
// laid out like the repository, so the repository itself never holds a bad import. (That the
// repository passes it is `npm test`'s own first steps: `npm run lint:layers`.)
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const depcruise = join(root, 'node_modules/dependency-cruiser/bin/dependency-cruiser.mjs');

const files: Record<string, string> = {
  // Bad: db/ reaches up into the API (a stored column typed from api/).
  'db/schema/bad.ts': "import type { P } from '../../api/permissions.ts';\nexport type X = P;\n",
  'api/permissions.ts': 'export type P = string;\n',
  // Bad: the queue's port imports a handler.
  'workers/queue.ts': "import { handler } from './jobs/some-job.ts';\nexport const q = handler;\n",
  'workers/jobs/some-job.ts': "import { notify } from '../../api/resources/notes/service.ts';\nexport const handler = notify;\n",
  'api/resources/notes/service.ts': 'export const notify = 1;\n',
  // Bad: an engine calls a service; an adapter imports the API's config.
  'workers/recovery/engine.ts': "import { notify } from '../../api/resources/notes/service.ts';\nimport type { AppDeps } from '../../api/deps.ts';\nexport const e = (d: AppDeps) => [d, notify];\n",
  'workers/dropbox/client.ts': "import type { Config } from '../../api/config.ts';\nexport type C = Config;\n",
  'api/config.ts': 'export type Config = { a: string };\n',
  // Allowed: AppDeps named as a type below the API.
  'api/deps.ts': 'export interface AppDeps { n: number }\n',
  // Bad: a service imports the handlers' registry.
  'api/resources/tasks/service.ts': "import { start } from '../../../workers/jobs/index.ts';\nexport const s = start;\n",
  'workers/jobs/index.ts': 'export const start = 1;\n',
  // Bad: a run-time cycle between two adapters.
  'workers/storage/a.ts': "import { b } from './b.ts';\nexport const a = () => b;\n",
  'workers/storage/b.ts': "import { a } from './a.ts';\nexport const b = () => a;\n",
  // Allowed: a cycle through type-only imports.
  'workers/storage/c.ts': "import type { D } from './d.ts';\nexport interface C { d?: D }\n",
  'workers/storage/d.ts': "import type { C } from './c.ts';\nexport interface D { c?: C }\n",
  // Bad: the published SDK imports server code.
  'sdk/client.ts': "import type { Config } from '../api/config.ts';\nexport type C = Config;\n",
  // Allowed: the entry point starts the registry; a service enqueues through the port.
  'api/server.ts': "import { start } from '../workers/jobs/index.ts';\nexport const go = start;\n",
  'api/resources/notes/routes.ts': "import { q } from '../../../workers/queue.ts';\nexport const r = q;\n",
};

t.test('the layer check names every back-arrow and run-time cycle, and nothing it allows', async (t) => {
  const dir = t.testdir();
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  copyFileSync(join(root, 'tsconfig.json'), join(dir, 'tsconfig.json'));
  const run = spawnSync(process.execPath, [depcruise, '--config', join(root, '.dependency-cruiser.cjs'), '--output-type', 'err', 'api', 'db', 'workers', 'sdk'], {
    cwd: dir, encoding: 'utf8',
  });
  t.equal(run.status, 7, 'the check fails, counting seven violations');
  // `error <rule>: <from> → <to>` (a cycle continues over more lines: its first step is enough).
  const found = [...run.stdout.matchAll(/error (\S+): (\S+) →\s+(\S+)/g)].map(([, rule, from, to]) => `${rule}: ${from} → ${to}`).sort();
  t.same(found, [
    'db-imports-nothing-above: db/schema/bad.ts → api/permissions.ts',
    'engines-and-adapters-never-import-api: workers/dropbox/client.ts → api/config.ts',
    'engines-and-adapters-never-import-api: workers/recovery/engine.ts → api/resources/notes/service.ts',
    'no-cycle: workers/storage/a.ts → workers/storage/b.ts',
    'queue-port-imports-no-handler: workers/queue.ts → workers/jobs/some-job.ts',
    'registry-only-from-entry-point: api/resources/tasks/service.ts → workers/jobs/index.ts',
    'sdk-imports-nothing-of-the-server: sdk/client.ts → api/config.ts',
  ]);
});
