// `coffer listen` and `coffer trigger`: develop a webhook receiver locally, without exposing it.
//
//   coffer listen --forward-to http://localhost:3000/hooks [--events job.state_changed,backup.run_failed]
//   coffer trigger backup.run_failed
//
// `listen` reads the account's event stream (`coffer.events.stream()`, which reconnects with
// Last-Event-ID) and POSTs each event to the URL exactly as a webhook delivery would: the same
// body, `Coffer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` and the
// `Coffer-Event-*` / `Coffer-Delivery-*` headers, so the receiver's `verifyWebhookSignature` check
// runs unchanged. The signing secret (`whsec_…`) is made once per profile and kept in it, so a
// receiver configured with it keeps working across runs. `trigger` records a test event of a type
// (`POST /v1/events/test`): listeners get it; webhook endpoints do not.
import { createHmac, randomBytes } from 'node:crypto';
import type { Coffer } from '../client.ts';
import { configPath, readConfig, writeConfig, type Profile } from './config.ts';
import { EXIT, UsageError } from './exit-codes.ts';
import { printJson, printObject } from './output.ts';

type ListenProfile = Profile & { listenSecret?: string };

export interface EventCommandContext {
  words: string[];
  flags: Record<string, unknown>;
  signal: AbortSignal;
  client(): Promise<Coffer>;
}

const FORWARD_TIMEOUT_MS = 10_000;

export function signatureHeader(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The profile's listen secret, made and saved on first use; without a saved profile, one for this run only. */
export async function listenSecret(profileFlag: string | undefined): Promise<{ secret: string; kept: boolean; profileName: string }> {
  const path = configPath();
  const config = await readConfig(path);
  // The profile the client speaks as (session.ts): --profile, COFFER_PROFILE, the current one.
  const profileName = profileFlag ?? process.env.COFFER_PROFILE ?? config.current ?? 'default';
  const profile = config.profiles[profileName] as ListenProfile | undefined;
  if (profile?.listenSecret) return { secret: profile.listenSecret, kept: true, profileName };
  const secret = 'whsec_' + randomBytes(32).toString('base64url');
  if (!profile) return { secret, kept: false, profileName };
  profile.listenSecret = secret;
  await writeConfig(path, config);
  return { secret, kept: true, profileName };
}

function deliveryId(): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  return 'dlv_' + [...randomBytes(26)].map((b) => alphabet[b % 32]).join('');
}

async function forward(url: string, secret: string, event: { id: string; type: string; raw: string }, signal: AbortSignal): Promise<string> {
  const timestamp = Math.floor(Date.now() / 1000);
  try {
    const response = await fetch(url, {
      method: 'POST',
      body: event.raw,
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Coffer-Webhooks/1 (coffer listen)',
        'coffer-signature': signatureHeader(secret, event.raw, timestamp),
        'coffer-event-id': event.id,
        'coffer-event-type': event.type,
        'coffer-delivery-id': deliveryId(),
        'coffer-delivery-attempt': '1',
      },
      redirect: 'manual',
      signal: AbortSignal.any([signal, AbortSignal.timeout(FORWARD_TIMEOUT_MS)]),
    });
    await response.body?.cancel();
    return String(response.status);
  } catch (err) {
    return `failed: ${(err as Error).message}`;
  }
}

async function listen(ctx: EventCommandContext): Promise<number> {
  const url = ctx.flags['forward-to'];
  if (typeof url !== 'string' || !/^https?:\/\//.test(url) || ctx.words.length) throw new UsageError('usage: coffer listen --forward-to URL [--events type,type…]');
  const events = ctx.flags.events;
  if (events !== undefined && (typeof events !== 'string' || !events)) throw new UsageError('--events takes event types separated by commas');
  const coffer = await ctx.client();
  const { secret, kept, profileName } = await listenSecret(typeof ctx.flags.profile === 'string' ? ctx.flags.profile : undefined);
  const json = ctx.flags.json === true;
  const say = (line: string) => process.stderr.write(line + '\n');
  say(`Your webhook signing secret is ${secret}${kept ? ` (kept in profile "${profileName}")` : ' (for this run only: no saved profile to keep it in)'}`);
  const stream = coffer.events.stream({
    signal: ctx.signal,
    ...(typeof events === 'string' ? { types: events.split(',').map((e) => e.trim()).filter(Boolean) } : {}),
    onOpen: () => say(`Ready: forwarding events to ${url} (Ctrl-C to stop)`),
    onReconnect: (err) => say(`connection lost${err ? ` (${(err as Error).message})` : ''}; reconnecting…`),
  });
  for await (const event of stream) {
    const result = await forward(url, secret, event, ctx.signal);
    if (json) printJson({ id: event.id, type: event.type, status: result });
    else process.stdout.write(`${new Date().toISOString()}  ${event.type}  ${event.id}  → ${result}\n`);
  }
  return EXIT.ok;
}

async function trigger(ctx: EventCommandContext): Promise<number> {
  const [type, ...extra] = ctx.words;
  if (!type || extra.length) throw new UsageError('usage: coffer trigger EVENT_TYPE (e.g. backup.run_failed)');
  const coffer = await ctx.client();
  const event = await coffer.events.trigger({ type: type as never }, { signal: ctx.signal });
  if (ctx.flags.json) printJson(event);
  else printObject(event);
  return EXIT.ok;
}

export const EVENT_COMMANDS_HELP = '  coffer listen --forward-to URL [--events type,type…]    POST each event as a signed webhook delivery\n  coffer trigger EVENT_TYPE                              record a test event (listeners get it)\n';

/** `coffer listen …` / `coffer trigger …`, or undefined for any other command. */
export function eventCommand(first: string): ((ctx: EventCommandContext) => Promise<number>) | undefined {
  return first === 'listen' ? listen : first === 'trigger' ? trigger : undefined;
}
