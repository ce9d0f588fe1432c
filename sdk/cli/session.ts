// Who the CLI speaks as: `coffer login`, `coffer logout`, `coffer profiles list|use`, and the
// client every other command gets (flags over environment over the profile).
import { Coffer } from '../client.ts';
import { configPath, readConfig, writeConfig, type Profile } from './config.ts';
import { EXIT, NotLoggedInError, UsageError } from './exit-codes.ts';
import { printJson } from './output.ts';
import { readSecret } from './prompt.ts';

export interface SessionFlags {
  profile?: string;
  'api-url'?: string;
  'api-key'?: string;
  'api-key-stdin'?: boolean;
  account?: string;
  json?: boolean;
}

const USER_AGENT = 'coffer-cli/0.1';

async function profileOf(flags: SessionFlags): Promise<{ name: string; profile: Profile | undefined }> {
  const config = await readConfig(configPath());
  const name = flags.profile ?? process.env.COFFER_PROFILE ?? config.current ?? 'default';
  return { name, profile: config.profiles[name] };
}

export async function client(flags: SessionFlags): Promise<Coffer> {
  const { name, profile } = await profileOf(flags);
  if (flags.profile && !profile) throw new NotLoggedInError(`no profile "${name}": run \`coffer login --profile ${name}\` (\`coffer profiles list\` shows the others)`);
  const apiKey = flags['api-key'] ?? process.env.COFFER_API_KEY ?? profile?.apiKey;
  const apiUrl = flags['api-url'] ?? process.env.COFFER_API_URL ?? profile?.apiUrl;
  if (!apiKey || !apiUrl) throw new NotLoggedInError(`not logged in (profile "${name}"): run \`coffer login\`, or set COFFER_API_URL and COFFER_API_KEY`);
  const account = flags.account ?? profile?.account;
  return new Coffer({ baseUrl: apiUrl, apiKey, ...(account ? { account } : {}), userAgent: USER_AGENT });
}

export async function login(flags: SessionFlags): Promise<number> {
  const path = configPath();
  const config = await readConfig(path);
  const name = flags.profile ?? 'default';
  const apiUrl = flags['api-url'] ?? process.env.COFFER_API_URL ?? config.profiles[name]?.apiUrl;
  if (!apiUrl) throw new UsageError('usage: coffer login --api-url URL [--api-key-stdin] [--profile NAME]');
  const apiKey = flags['api-key'] ?? (flags['api-key-stdin'] ? await readSecret(null) : process.env.COFFER_API_KEY ?? (await readSecret('API key: ')));
  if (!apiKey) throw new UsageError('an API key is needed: type it when asked, or pipe it in with --api-key-stdin');
  const coffer = new Coffer({ baseUrl: apiUrl, apiKey, ...(flags.account ? { account: flags.account } : {}), userAgent: USER_AGENT });
  const me = await coffer.me.get(); // an invalid key fails here (exit 3) and nothing is saved
  config.profiles[name] = { apiUrl, apiKey, ...(flags.account ? { account: flags.account } : {}) };
  config.current = name;
  await writeConfig(path, config);
  if (flags.json) printJson({ profile: name, api_url: apiUrl, account: me.account.id });
  else process.stdout.write(`logged in to ${apiUrl}, account ${me.account.name} (${me.account.id}); saved as profile "${name}" in ${path}\n`);
  return EXIT.ok;
}

export async function logout(flags: SessionFlags): Promise<number> {
  const path = configPath();
  const config = await readConfig(path);
  const name = flags.profile ?? config.current ?? 'default';
  if (!config.profiles[name]) throw new NotLoggedInError(`no profile "${name}"`);
  delete config.profiles[name];
  if (config.current === name) delete config.current;
  await writeConfig(path, config);
  return EXIT.ok;
}

/** `coffer profiles list` (the current one marked; keys never shown) and `coffer profiles use NAME`. */
export async function profiles(args: string[], flags: SessionFlags): Promise<number> {
  const path = configPath();
  const config = await readConfig(path);
  const [action, name, ...extra] = args;
  if (action === 'list' && !name) {
    const rows = Object.entries(config.profiles).map(([n, p]) => ({ name: n, current: n === config.current, api_url: p.apiUrl, ...(p.account ? { account: p.account } : {}) }));
    if (flags.json) printJson(rows);
    else for (const r of rows) process.stdout.write(`${r.current ? '*' : ' '} ${r.name.padEnd(16)} ${r.api_url}${r.account ? ` (account ${r.account})` : ''}\n`);
    return EXIT.ok;
  }
  if (action === 'use' && name && !extra.length) {
    if (!config.profiles[name]) throw new NotLoggedInError(`no profile "${name}": one of ${Object.keys(config.profiles).join(', ') || '(none; run `coffer login`)'}`);
    config.current = name;
    await writeConfig(path, config);
    if (!flags.json) process.stdout.write(`now using profile "${name}" (${config.profiles[name].apiUrl})\n`);
    return EXIT.ok;
  }
  throw new UsageError('usage: coffer profiles list | coffer profiles use NAME');
}
