// The `coffer` command: the SDK from a shell.
//
//   coffer login --api-url https://coffer.example.com           (asks for an API key, not echoed)
//   coffer tags list [--all] [--json]
//   coffer tags create --name finance
//   coffer exports create --data @export.json --wait --download backup.zip
//   coffer backup ent_… --wait
//   coffer jobs watch job_…
//   coffer api GET /v1/me
//
// Arguments are parsed by yargs-parser: it reads any `--field value` (dotted for nested objects,
// repeated for arrays) without declaring the fields first, which the generated commands need since
// every operation has its own.
import parse from 'yargs-parser';
import { readFile } from 'node:fs/promises';
import type { Coffer } from '../client.ts';
import type { Job } from '../jobs.ts';
import type { PagePromise } from '../pagination.ts';
import { buildInput, commandHelp, findCommand, helpText, resolveCommand, usage, wrapLists } from './commands.ts';
import { completionScript } from './completion.ts';
import { downloadArchive, type Downloaded } from './download.ts';
import { EXIT, EXIT_HELP, UsageError } from './exit-codes.ts';
import { printJson, printLine, printList, printObject } from './output.ts';
import { client, login, logout, profiles, type SessionFlags } from './session.ts';
import { EVENT_COMMANDS_HELP, eventCommand } from './listen.ts';
import { backup, watchJob } from './watch.ts';
import { iacMain, stdinAnswer } from '../iac/commands.ts';

const STRINGS = ['profile', 'api-url', 'api-key', 'account', 'data', 'if-match', 'idempotency-key', 'timeout', 'download'];
const BOOLEANS = ['json', 'all', 'help', 'wait', 'api-key-stdin'];
const GLOBAL = [...STRINGS, ...BOOLEANS];

interface Flags extends SessionFlags {
  all?: boolean;
  data?: string;
  'if-match'?: string;
  'idempotency-key'?: string;
  timeout?: string;
  help?: boolean;
  wait?: boolean;
  download?: string;
  [field: string]: unknown;
}

const USAGE = `usage: coffer <command> [arguments] [--json] [--profile NAME]

Set up:
  coffer login [--api-url URL] [--api-key-stdin] [--profile NAME]   check an API key (GET /v1/me) and save it (0600)
  coffer logout [--profile NAME]
  coffer profiles list | coffer profiles use NAME
  coffer completion bash|zsh|fish                                  a shell completion script

Long work (a progress bar on a terminal; with --json one JSON object a line):
  coffer backup <entity-id> [--wait]                               back up now, and follow the run
  coffer restores create … --wait                                  (see coffer restores create --help)
  coffer exports create … --wait [--download FILE]                 resumable download, SHA-256 verified
  coffer jobs watch <job-id>                                       (jobs wait: the same)
  coffer jobs download <job-id> <file>                             an export's archive: resumes FILE.part, verifies

Events (develop a webhook receiver locally):
${EVENT_COMMANDS_HELP}
Coffer as code (Terraform's language and commands; coffer iac --help):
  coffer iac [-chdir=DIR] init | validate | fmt | plan | apply | destroy | import | show | output | state …

Anything else:
  coffer api METHOD PATH [--data JSON] [--param value…]

Global flags:
  --json                  print exactly the API's JSON (lists: {data, next_cursor}; with --all one array)
  --all                   every page of a list
  --data JSON|@FILE       the whole request body; --field value (dotted: --source.snapshot-id) sets one field
  --profile NAME          a saved profile (default: the one \`coffer profiles use\` chose)
  --api-url URL, --api-key KEY   override the profile (also COFFER_API_URL, COFFER_API_KEY)
  --account ID            act for a customer account (a partner's credential; the Coffer-Account header)
  --if-match ETAG, --idempotency-key KEY, --timeout MS

${EXIT_HELP}

Every command (\`coffer <command> --help\` shows its fields):
`;

export async function main(argv: string[], signal: AbortSignal): Promise<number> {
  // `coffer iac` takes Terraform's single-dash flags, which the parser below would split into letters.
  if (argv[0] === 'iac') {
    return iacMain(argv.slice(1), {
      stdout: (s) => process.stdout.write(s),
      stderr: (s) => process.stderr.write(s),
      ask: stdinAnswer,
      env: process.env,
      signal,
      fallbackClient: (p) => client({ ...(p.api_url ? { 'api-url': p.api_url } : {}), ...(p.api_key ? { 'api-key': p.api_key } : {}), ...(p.account ? { account: p.account } : {}) }),
    });
  }
  const parsed = parse(argv, {
    boolean: BOOLEANS,
    string: STRINGS,
    // --base-url / COFFER_BASE_URL: the names before --api-url, still read.
    alias: { 'api-url': ['base-url'] },
    configuration: { 'camel-case-expansion': false, 'parse-numbers': false, 'parse-positional-numbers': false, 'boolean-negation': false, 'strip-aliased': true },
  });
  const flags = parsed as unknown as Flags;
  if (!process.env.COFFER_API_URL && process.env.COFFER_BASE_URL) process.env.COFFER_API_URL = process.env.COFFER_BASE_URL;
  const words = parsed._.map(String);
  const fields = Object.fromEntries(Object.entries(parsed).filter(([k]) => k !== '_' && k !== '--' && !GLOBAL.includes(k)));
  if (flags.data?.startsWith('@')) flags.data = await readFile(flags.data.slice(1), 'utf8');

  const [first, ...rest] = words;
  if (!first || (first === 'help' && !rest.length) || (flags.help && !first)) {
    process.stdout.write(`${USAGE}${helpText()}\n`);
    return first || flags.help ? EXIT.ok : EXIT.usage;
  }
  if (first === 'help' || flags.help) {
    const named = first === 'help' ? rest : words;
    const builtin = named[0] === 'jobs' ? (['watch', 'wait', 'download', undefined].includes(named[1]) ? BUILTIN_HELP.jobs : undefined) : BUILTIN_HELP[named[0]!];
    process.stdout.write(builtin ?? commandHelp(findCommand(named).spec));
    return EXIT.ok;
  }
  if (first === 'login') return login(flags);
  if (first === 'logout') return logout(flags);
  if (first === 'profiles') return profiles(rest, flags);
  const events = eventCommand(first);
  if (events) return events({ words: rest, flags, signal, client: () => client(flags) });
  if (first === 'completion') {
    if (rest.length !== 1) throw new UsageError('usage: coffer completion bash|zsh|fish');
    process.stdout.write(completionScript(rest[0]));
    return EXIT.ok;
  }

  const coffer = await client(flags);
  const timeoutMs = flags.timeout ? Number(flags.timeout) : undefined;
  const options = { signal, ...(flags['idempotency-key'] ? { idempotencyKey: flags['idempotency-key'] } : {}), ...(timeoutMs ? { timeoutMs } : {}) };
  const watch = { json: !!flags.json, signal, ...(timeoutMs ? { timeoutMs } : {}) };

  if (first === 'api') return api(coffer, rest, fields, flags, options);
  if (first === 'jobs' && (rest[0] === 'watch' || rest[0] === 'wait')) {
    if (rest.length !== 2) throw new UsageError(`usage: coffer jobs ${rest[0]} <job-id>`);
    await watchJob(coffer, rest[1]!, watch);
    return EXIT.ok;
  }
  if (first === 'jobs' && rest[0] === 'download') {
    if (rest.length !== 3) throw new UsageError('usage: coffer jobs download <job-id> <file>');
    const job = await coffer.jobs.get(rest[1]!, { signal });
    if (!job.download) throw new UsageError(`job ${job.id} has no download (only finished exports to {"type":"download"} have one)`);
    reportDownload(await downloadArchive(coffer, job, rest[2]!, watch), flags);
    return EXIT.ok;
  }
  if (first === 'backup') {
    if (rest.length !== 1 || Object.keys(fields).length) throw new UsageError('usage: coffer backup <entity-id> [--wait]');
    await backup(coffer, rest[0]!, !!flags.wait, watch);
    return EXIT.ok;
  }

  const { spec, ids } = resolveCommand(words);
  if ((flags.wait && spec.id !== 'createRestore' && spec.id !== 'createExport') || (flags.download !== undefined && spec.id !== 'createExport')) {
    throw new UsageError(`${flags.wait ? '--wait' : '--download'} does not apply to: ${usage(spec)}`);
  }
  if (flags.download !== undefined && !flags.wait) throw new UsageError('--download FILE needs --wait');
  const input = spec.input === 'none' ? undefined : wrapLists(spec, buildInput(fields, flags.data, spec.input === 'query'));
  if (spec.input === 'none' && (Object.keys(fields).length || flags.data !== undefined)) throw new UsageError(`${usage(spec)} takes no fields`);
  if (spec.inputRequired && input === undefined) throw new UsageError(`usage: ${usage(spec)} (see --help)`);
  const target = spec.namespace.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], coffer) as Record<string, (...args: unknown[]) => unknown>;
  const args: unknown[] = [...ids];
  if (spec.input !== 'none') args.push(input);
  args.push({ ...options, ...(flags['if-match'] ? { ifMatch: flags['if-match'] } : {}) });
  const result = target[spec.name]!(...args);

  if (spec.result === 'page') {
    const pages = result as PagePromise<unknown>;
    if (flags.all) {
      const items: unknown[] = [];
      for await (const item of pages) items.push(item);
      if (flags.json) printJson(items);
      else printList(items);
    } else {
      const page = await pages;
      if (flags.json) printJson({ data: page.data, next_cursor: page.next_cursor });
      else {
        printList(page.data);
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
  if (!flags.wait) {
    print(value, flags);
    return EXIT.ok;
  }
  // restores / exports create --wait [--download FILE]
  const started = value as Job;
  if (flags.json) printLine({ type: 'created', job: JSON.parse(JSON.stringify(started)) });
  else process.stderr.write(`started ${started.type} ${started.id}\n`);
  const job = await watchJob(coffer, started.id, watch);
  if (flags.download !== undefined) {
    if (!flags.download) throw new UsageError('--download needs a FILE');
    if (!job.download) throw new UsageError(`job ${job.id} has no download (only exports to {"type":"download"} do)`);
    reportDownload(await downloadArchive(coffer, job, flags.download, watch), flags);
  }
  return EXIT.ok;
}

function reportDownload(file: Downloaded, flags: Flags): void {
  if (flags.json) printLine({ type: 'summary', download: file });
  else process.stderr.write(`saved ${file.path} (${file.size} bytes${file.resumed_from ? `, resumed at byte ${file.resumed_from}` : ''})${file.verified ? ', SHA-256 verified' : ''}\n`);
}

const BUILTIN_HELP: Record<string, string> = {
  login: 'usage: coffer login [--api-url URL] [--api-key-stdin] [--profile NAME] [--account ID]\n\nAsks for an API key (typing is not echoed; or pipe it with --api-key-stdin), checks it with GET /v1/me and\nsaves it with the URL as a profile in $XDG_CONFIG_HOME/coffer/config.json (mode 0600), made the current one.\n',
  logout: 'usage: coffer logout [--profile NAME]\n\nForgets the profile (its key stays valid: revoke it with `coffer api-keys revoke`).\n',
  profiles: 'usage: coffer profiles list | coffer profiles use NAME\n\nlist: the saved profiles, the current one marked *. use: make NAME the current profile.\n',
  completion: 'usage: coffer completion bash|zsh|fish\n\nPrints a completion script: `coffer completion bash > ~/.local/share/bash-completion/completions/coffer`.\n',
  backup: 'usage: coffer backup <entity-id> [--wait] [--json] [--timeout MS]\n\nBacks up a user or team folder now (POST /v1/entities/actions backup_now). With --wait, follows the run it\nstarts until it ends: a progress bar on a terminal, with --json one JSON object a line ({"type":"progress","run":…}\n… {"type":"summary","run":…}). Exit 6 if the run fails, 5 if the entity cannot be backed up now.\n',
  jobs: 'usage: coffer jobs watch <job-id> | coffer jobs download <job-id> <file> | coffer jobs <action> … (coffer help)\n\nwatch (or wait): follows a job to its end with a progress bar; --json: one JSON object a line. Exit 6 if it fails.\ndownload: the archive of a finished export into FILE, through FILE.part: an interrupted download continues\nwhere FILE.part ends (HTTP Range) and the result is checked against the SHA-256 the job publishes.\n',
  api: 'usage: coffer api METHOD PATH [--data JSON|@FILE] [--param value…]\n\nAny request: coffer api GET /v1/me, coffer api POST /v1/tags --data \'{"name":"ops"}\'.\n',
};

async function api(coffer: Coffer, rest: string[], fields: Record<string, unknown>, flags: Flags, options: object): Promise<number> {
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

function print(value: unknown, flags: Flags): void {
  if (flags.json) printJson(value ?? null);
  else if (value !== undefined) printObject(value);
}
