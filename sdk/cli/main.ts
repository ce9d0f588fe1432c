// The `coffer` command: the SDK from a shell.
//
//   coffer login --base-url https://coffer.example.com          (asks for an API key; --api-key or stdin also work)
//   coffer tags list [--all] [--json]
//   coffer tags create --name finance
//   coffer tags update tag_… --name Finance --if-match '"v1"'
//   coffer jobs wait job_…
//   coffer api GET /v1/me
//
// Exit codes: 0 ok, 1 error, 2 usage, 3 auth, 4 not found, 5 conflict/precondition, 6 job
// failed, 130 interrupted. Arguments are parsed by yargs-parser: it reads any `--field value`
// (dotted for nested objects, repeated for arrays) without declaring the fields first, which the
// generated commands need since every operation has its own.
import parse from 'yargs-parser';
import { createInterface } from 'node:readline/promises';
import { Coffer } from '../client.ts';
import type { PagePromise } from '../pagination.ts';
import { buildInput, helpText, resolveCommand, usage } from './commands.ts';
import { configPath, readConfig, writeConfig, type Profile } from './config.ts';
import { EXIT, NotLoggedInError, UsageError } from './exit-codes.ts';
import { printJson, printObject, printRow } from './output.ts';

const GLOBAL = ['profile', 'base-url', 'api-key', 'account', 'json', 'all', 'data', 'if-match', 'idempotency-key', 'timeout', 'help'];

interface Flags {
  profile?: string;
  'base-url'?: string;
  'api-key'?: string;
  account?: string;
  json?: boolean;
  all?: boolean;
  data?: string;
  'if-match'?: string;
  'idempotency-key'?: string;
  timeout?: string;
  help?: boolean;
  [field: string]: unknown;
}

export async function main(argv: string[], signal: AbortSignal): Promise<number> {
  const parsed = parse(argv, {
    boolean: ['json', 'all', 'help'],
    string: ['profile', 'base-url', 'api-key', 'account', 'data', 'if-match', 'idempotency-key', 'timeout'],
    configuration: { 'camel-case-expansion': false, 'parse-numbers': false, 'parse-positional-numbers': false, 'boolean-negation': false, 'strip-aliased': true },
  });
  const flags = parsed as unknown as Flags;
  const words = parsed._.map(String);
  const fields = Object.fromEntries(Object.entries(parsed).filter(([k]) => k !== '_' && k !== '--' && !GLOBAL.includes(k)));
  if (flags.data?.startsWith('@')) flags.data = await (await import('node:fs/promises')).readFile(flags.data.slice(1), 'utf8');

  const [first, ...rest] = words;
  if (!first || first === 'help' || flags.help) {
    process.stdout.write(`usage: coffer <command> [arguments] [--json] [--profile NAME]\n\n  coffer login [--base-url URL] [--api-key KEY] [--profile NAME]\n  coffer logout [--profile NAME]\n  coffer api METHOD PATH [--data JSON] [--param value…]\n  coffer jobs wait <id>\n${helpText()}\n`);
    return first || flags.help ? EXIT.ok : EXIT.usage;
  }
  if (first === 'login') return login(flags);
  if (first === 'logout') return logout(flags);

  const coffer = await client(flags);
  const options = {
    signal,
    ...(flags['idempotency-key'] ? { idempotencyKey: flags['idempotency-key'] } : {}),
    ...(flags.timeout ? { timeoutMs: Number(flags.timeout) } : {}),
  };

  if (first === 'api') {
    const [method, path, ...extra] = rest;
    if (!method || !path || extra.length || !['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method.toUpperCase())) throw new UsageError('usage: coffer api METHOD PATH [--data JSON] [--param value…]');
    const verb = method.toUpperCase();
    const input = buildInput(fields, flags.data, verb === 'GET' || verb === 'DELETE');
    const call = coffer[verb.toLowerCase() as 'get'] as unknown as (p: string, o: unknown) => Promise<unknown>;
    const result = await call.call(coffer, path, {
      ...options,
      ...(verb === 'GET' || verb === 'DELETE' ? { params: { query: input } } : { body: input }),
      ...(flags['if-match'] ? { ifMatch: flags['if-match'] } : {}),
    });
    print(result, flags);
    return EXIT.ok;
  }

  if (first === 'jobs' && rest[0] === 'wait') {
    if (rest.length !== 2) throw new UsageError('usage: coffer jobs wait <id>');
    const job = await coffer.jobs.wait(rest[1]!, {
      signal,
      ...(flags.timeout ? { timeoutMs: Number(flags.timeout) } : {}),
      onProgress: (j) => process.stderr.write(`${j.state} ${j.items_done}/${j.items_total}\n`),
    });
    print(job, flags);
    return EXIT.ok;
  }

  const { spec, ids } = resolveCommand(words);
  const input = spec.input === 'none' ? undefined : buildInput(fields, flags.data, spec.input === 'query');
  if (spec.input === 'none' && (Object.keys(fields).length || flags.data !== undefined)) throw new UsageError(`${usage(spec)} takes no fields`);
  if (spec.inputRequired && input === undefined) throw new UsageError(`usage: ${usage(spec)}`);
  const target = spec.namespace.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], coffer) as Record<string, (...args: unknown[]) => unknown>;
  const args: unknown[] = [...ids];
  if (spec.input !== 'none') args.push(input);
  args.push({ ...options, ...(flags['if-match'] ? { ifMatch: flags['if-match'] } : {}) });
  const result = target[spec.name]!(...args);

  if (spec.result === 'page') {
    const pages = result as PagePromise<unknown>;
    if (flags.all) {
      const items: unknown[] = [];
      for await (const item of pages) flags.json ? items.push(item) : printRow(item);
      if (flags.json) printJson(items);
    } else {
      const page = await pages;
      if (flags.json) printJson({ data: page.data, next_cursor: page.next_cursor });
      else {
        for (const item of page.data) printRow(item);
        if (page.hasNextPage()) process.stderr.write(`(more: --all, or --cursor ${page.next_cursor})\n`);
      }
    }
    return EXIT.ok;
  }
  const value = await result;
  if (spec.result === 'response') {
    const response = value as Response;
    if (response.body) for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
    return EXIT.ok;
  }
  if (spec.result === 'none') {
    if (flags.json) printJson(null);
    return EXIT.ok;
  }
  print(value, flags);
  return EXIT.ok;
}

function print(value: unknown, flags: Flags): void {
  if (flags.json) printJson(value ?? null);
  else if (value !== undefined) printObject(value);
}

async function profileOf(flags: Flags): Promise<{ name: string; profile: Profile | undefined }> {
  const config = await readConfig(configPath());
  const name = flags.profile ?? process.env.COFFER_PROFILE ?? config.current ?? 'default';
  return { name, profile: config.profiles[name] };
}

async function client(flags: Flags): Promise<Coffer> {
  const { name, profile } = await profileOf(flags);
  const apiKey = flags['api-key'] ?? process.env.COFFER_API_KEY ?? profile?.apiKey;
  const baseUrl = flags['base-url'] ?? process.env.COFFER_BASE_URL ?? profile?.baseUrl;
  if (!apiKey || !baseUrl) throw new NotLoggedInError(`not logged in (profile "${name}"): run \`coffer login\`, or set COFFER_API_KEY and COFFER_BASE_URL`);
  const account = flags.account ?? profile?.account;
  return new Coffer({ baseUrl, apiKey, ...(account ? { account } : {}), userAgent: 'coffer-cli/0.1' });
}

async function login(flags: Flags): Promise<number> {
  const path = configPath();
  const config = await readConfig(path);
  const name = flags.profile ?? 'default';
  const baseUrl = flags['base-url'] ?? process.env.COFFER_BASE_URL ?? config.profiles[name]?.baseUrl;
  if (!baseUrl) throw new UsageError('usage: coffer login --base-url URL [--api-key KEY] [--profile NAME]');
  const apiKey = flags['api-key'] ?? process.env.COFFER_API_KEY ?? (await ask('API key: '));
  if (!apiKey) throw new UsageError('an API key is needed (--api-key, COFFER_API_KEY, or type it when asked)');
  const coffer = new Coffer({ baseUrl, apiKey, ...(flags.account ? { account: flags.account } : {}) });
  const me = await coffer.me.get(); // an invalid key fails here (exit 3) and nothing is saved
  config.profiles[name] = { baseUrl, apiKey, ...(flags.account ? { account: flags.account } : {}) };
  config.current = name;
  await writeConfig(path, config);
  if (flags.json) printJson({ profile: name, base_url: baseUrl, account: me.account.id });
  else process.stdout.write(`logged in to ${baseUrl}, account ${me.account.name} (${me.account.id}); saved as profile "${name}" in ${path}\n`);
  return EXIT.ok;
}

async function logout(flags: Flags): Promise<number> {
  const path = configPath();
  const config = await readConfig(path);
  const name = flags.profile ?? config.current ?? 'default';
  if (!config.profiles[name]) throw new NotLoggedInError(`no profile "${name}"`);
  delete config.profiles[name];
  if (config.current === name) delete config.current;
  await writeConfig(path, config);
  return EXIT.ok;
}

/** One line from the terminal or from piped stdin. */
async function ask(prompt: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  if (process.stdin.isTTY) process.stderr.write(prompt);
  try {
    for await (const line of rl) return line.trim();
    return '';
  } finally {
    rl.close();
  }
}
