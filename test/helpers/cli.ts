// Running the `coffer` CLI as a user runs it (a child process with its own environment), and
// checking what it prints against the API's own contract: the response schemas of
// openapi/openapi.json, compiled with ajv.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { OPERATIONS, type OperationName } from '../../sdk/operations.ts';

export const CLI_BIN = fileURLToPath(new URL('../../sdk/cli/bin.ts', import.meta.url));

export interface Run { code: number | null; stdout: string; stderr: string }

export interface RunOptions {
  stdin?: string;
  interruptAfterMs?: number;
  cwd?: string;
}

/** `coffer …args` with only these COFFER_* variables (none inherited from the test's own environment). */
export function cli(env: Record<string, string>, args: string[], opts: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COFFER_')));
    const child = spawn(process.execPath, [CLI_BIN, ...args], { env: { ...inherited, ...env }, ...(opts.cwd ? { cwd: opts.cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(opts.stdin ?? '');
    if (opts.interruptAfterMs) setTimeout(() => child.kill('SIGINT'), opts.interruptAfterMs);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** JSON lines (`--json` progress streams), parsed. */
export const jsonLines = (text: string) => text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);

const doc = JSON.parse(readFileSync(fileURLToPath(new URL('../../openapi/openapi.json', import.meta.url)), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
formats.default(ajv); // CommonJS: the plugin is the module's default export
ajv.addSchema(doc, 'openapi.json');

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

/**
 * Errors of `value` against the JSON response schema of an operation (its first 2xx answer with
 * JSON), or of its list items when `item` is set (for `--all`, which prints the items as one array).
 * An empty array: it conforms.
 */
export function schemaErrors(operation: OperationName, value: unknown, o: { item?: boolean } = {}): string[] {
  const spec = OPERATIONS[operation];
  const responses = doc.paths[spec.path][spec.method.toLowerCase()].responses as Record<string, any>;
  const code = Object.keys(responses).find((c) => /^2/.test(c) && responses[c].content?.['application/json']);
  if (!code) throw new Error(`${operation} answers no JSON`);
  let ref = `openapi.json#/${pointer('paths', spec.path, spec.method.toLowerCase(), 'responses', code, 'content', 'application/json', 'schema')}`;
  if (o.item) ref = `${ref.replace(/#.*$/, '')}#/components/schemas/${doc.paths[spec.path][spec.method.toLowerCase()].responses[code].content['application/json'].schema.$ref.split('/').pop()}/properties/data/items`;
  const validate = ajv.getSchema(ref);
  if (!validate) throw new Error(`no schema at ${ref}`);
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e: { instancePath: string; message?: string }) => `${e.instancePath || '/'} ${e.message}`);
}

/** The CLI on a terminal: `script` gives it a pseudo-terminal; `input` is typed once `waitFor` shows. */
export function onTerminal(env: Record<string, string>, args: string[], o: { waitFor?: RegExp; input?: string } = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COFFER_')));
    const command = `stty cols 160 rows 40; ${[process.execPath, CLI_BIN, ...args].map((a) => `'${a}'`).join(' ')}`;
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: { ...inherited, ...env } });
    let output = '';
    let typed = false;
    child.stdout.on('data', (d) => {
      output += d;
      if (!typed && o.waitFor?.test(output)) { typed = true; child.stdin.write(o.input ?? ''); }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
