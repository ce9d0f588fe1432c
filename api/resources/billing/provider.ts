// Payment providers. Coffer never keeps a card number: the number (with expiry, CVC and holder)
// passes through `tokenize` to the provider, which answers with its own token; Coffer stores that
// token with the brand, last four digits and expiry, and charges the token later. A real provider
// (a PCI-compliant processor) implements the same interface over its API.
//
// The sandbox provider runs the whole flow without a payment company, so it must never face real
// customers: api/config.ts refuses it under NODE_ENV=production unless COFFER_BILLING_ALLOW_SANDBOX
// is set, and start-up logs a warning whenever it runs outside development. Its test cards:
//
//   4242 4242 4242 4242   Visa        every charge succeeds
//   5555 5555 5555 4444   Mastercard  every charge succeeds
//   3782 822463 10005     Amex        every charge succeeds
//   4000 0000 0000 0002   Visa        charges are declined (card_declined)
//   4000 0000 0000 9995   Visa        charges are declined (insufficient_funds)
//   4000 0000 0000 0069   Visa        charges are declined (expired_card)
//   4000 0000 0000 0119   Visa        charges fail (processing_error)
//
// Any other number that passes the Luhn check behaves like 4242…; a number that fails it, a past
// expiry date or a malformed CVC is refused at tokenization (HTTP 400). Like real providers, the
// declining cards tokenize fine and fail when charged. Tokens (`tok_sbx_<random>_<behaviour>`) say
// nothing about the number, only how the sandbox will answer, so that an API process and a worker
// process agree on a token without sharing memory.
import { createHash, randomBytes } from 'node:crypto';
import type { AppDeps } from '../../deps.ts';
import { billingOf } from './plans.ts';

export interface CardInput {
  number: string;
  expMonth: number;
  expYear: number;
  cvc: string;
  holderName: string;
}

export interface TokenizedCard {
  token: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

export type TokenizeFailure = 'invalid_number' | 'invalid_expiry' | 'expired_card' | 'invalid_cvc';

export type TokenizeResult = { ok: true; card: TokenizedCard } | { ok: false; code: TokenizeFailure; message: string };

export interface ChargeRequest {
  token: string;
  /** Minor units. */
  amount: number;
  currency: string;
  /** The same key twice never charges twice (the provider answers with the first result). */
  idempotencyKey: string;
  description: string;
}

export type DeclineCode = 'card_declined' | 'insufficient_funds' | 'expired_card' | 'processing_error';

export type ChargeResult =
  | { status: 'succeeded'; reference: string }
  | { status: 'declined'; code: DeclineCode; message: string; reference: string | null };

export interface PaymentProvider {
  readonly name: string;
  tokenize(card: CardInput, now: Date): Promise<TokenizeResult>;
  charge(request: ChargeRequest, now: Date): Promise<ChargeResult>;
}

export function luhnValid(digits: string): boolean {
  if (!/^\d{12,19}$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function cardBrand(digits: string): string {
  if (/^4/.test(digits)) return 'visa';
  if (/^(5[1-5]|2(2[2-9]|[3-6]\d|7[01]|720))/.test(digits)) return 'mastercard';
  if (/^3[47]/.test(digits)) return 'amex';
  if (/^(6011|65|64[4-9])/.test(digits)) return 'discover';
  return 'unknown';
}

const BEHAVIOUR: Record<string, DeclineCode> = {
  '4000000000000002': 'card_declined',
  '4000000000009995': 'insufficient_funds',
  '4000000000000069': 'expired_card',
  '4000000000000119': 'processing_error',
};

const DECLINE_MESSAGES: Record<DeclineCode, string> = {
  card_declined: 'The card was declined.',
  insufficient_funds: 'The card has insufficient funds.',
  expired_card: 'The card has expired.',
  processing_error: 'The payment processor could not complete the charge; try again later.',
};

/** Validation every provider needs before it sees a number; returns the digits or a failure. */
export function validateCard(card: CardInput, now: Date): { ok: true; digits: string } | { ok: false; code: TokenizeFailure; message: string } {
  const digits = card.number.replace(/[\s-]/g, '');
  if (!luhnValid(digits)) return { ok: false, code: 'invalid_number', message: 'The card number is not valid.' };
  if (card.expMonth < 1 || card.expMonth > 12) return { ok: false, code: 'invalid_expiry', message: 'The expiry month must be 1–12.' };
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  if (card.expYear < year || (card.expYear === year && card.expMonth < month)) return { ok: false, code: 'expired_card', message: 'The card has expired.' };
  if (card.expYear > year + 20) return { ok: false, code: 'invalid_expiry', message: 'The expiry year is too far in the future.' };
  const cvcLength = cardBrand(digits) === 'amex' ? 4 : 3;
  if (!new RegExp(`^\\d{${cvcLength}}$`).test(card.cvc)) return { ok: false, code: 'invalid_cvc', message: `The CVC must be ${cvcLength} digits.` };
  return { ok: true, digits };
}

const TOKEN_SUFFIX: Record<DeclineCode | 'ok', string> = {
  ok: 'ok', card_declined: 'dec', insufficient_funds: 'nsf', expired_card: 'exp', processing_error: 'err',
};

/** The sandbox: stateless apart from its idempotency memory. */
export class SandboxProvider implements PaymentProvider {
  readonly name = 'sandbox';
  private readonly charges = new Map<string, ChargeResult>();
  /** Every charge attempted, for tests and for a local installation's log. */
  readonly ledger: { token: string; amount: number; currency: string; idempotencyKey: string; result: ChargeResult }[] = [];

  async tokenize(card: CardInput, now: Date): Promise<TokenizeResult> {
    const checked = validateCard(card, now);
    if (!checked.ok) return checked;
    const token = `tok_sbx_${randomBytes(12).toString('hex')}_${TOKEN_SUFFIX[BEHAVIOUR[checked.digits] ?? 'ok']}`;
    return { ok: true, card: { token, brand: cardBrand(checked.digits), last4: checked.digits.slice(-4), expMonth: card.expMonth, expYear: card.expYear } };
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const previous = this.charges.get(request.idempotencyKey);
    if (previous) return previous;
    const reference = `ch_sbx_${createHash('sha256').update(request.idempotencyKey).digest('hex').slice(0, 20)}`;
    let result: ChargeResult;
    const suffix = /^tok_sbx_[0-9a-f]{24}_([a-z]+)$/.exec(request.token)?.[1];
    const decline = (Object.entries(TOKEN_SUFFIX).find(([, v]) => v === suffix)?.[0] ?? 'card_declined') as DeclineCode | 'ok';
    if (request.amount <= 0) result = { status: 'succeeded', reference };
    else if (decline !== 'ok') result = { status: 'declined', code: decline, message: DECLINE_MESSAGES[decline], reference };
    else result = { status: 'succeeded', reference };
    this.charges.set(request.idempotencyKey, result);
    this.ledger.push({ token: request.token, amount: request.amount, currency: request.currency, idempotencyKey: request.idempotencyKey, result });
    return result;
  }
}

const installed = new WeakMap<object, PaymentProvider>();

/** The provider of an installation (one per set of deps): the configured one unless a test installed another. */
export function paymentProvider(deps: Pick<AppDeps, 'config'>): PaymentProvider {
  let provider = installed.get(deps.config);
  if (!provider) {
    // The only provider shipped is the sandbox (COFFER_BILLING_PROVIDER=sandbox); a real one is
    // installed with setPaymentProvider at start-up.
    billingOf(deps.config).provider satisfies 'sandbox';
    provider = new SandboxProvider();
    installed.set(deps.config, provider);
  }
  return provider;
}

/** Replaces the provider (tests, or a real provider wired at start-up). */
export function setPaymentProvider(deps: Pick<AppDeps, 'config'>, provider: PaymentProvider): void {
  installed.set(deps.config, provider);
}
