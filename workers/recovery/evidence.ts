// The installation's verification signing key and the signed summaries made with it. The key pair
// (Ed25519) is generated once per installation, the first time anything needs it, and stored in
// installation_keys with its private half sealed under the master keyring; two processes racing to
// create it agree on the first one written. Evidence is the exact JSON text signed plus a base64
// signature over its UTF-8 bytes, so an auditor checks it with any Ed25519 implementation and the
// public key from GET /v1/verification-key, without trusting Coffer to re-serialize anything.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { AppDeps } from '../../api/deps.ts';
import { installationKeys, type VerificationEvidence } from '../../db/schema.ts';

export const KEY_NAME = 'verification-signing';

export interface SigningKey {
  privateKey: KeyObject;
  publicKeyPem: string;
  /** Hex SHA-256 of the public key's DER (SPKI): names the key inside every signed payload. */
  keyId: string;
}

const cache = new WeakMap<object, SigningKey>();

function keyIdOf(publicKeyPem: string): string {
  return createHash('sha256').update(createPublicKey(publicKeyPem).export({ type: 'spki', format: 'der' })).digest('hex');
}

/** The installation's signing key, created on first use. */
export async function signingKey(deps: Pick<AppDeps, 'db' | 'keyring' | 'clock'>): Promise<SigningKey> {
  const hit = cache.get(deps.db);
  if (hit) return hit;
  let [row] = await deps.db.select().from(installationKeys).where(eq(installationKeys.name, KEY_NAME));
  if (!row) {
    const pair = generateKeyPairSync('ed25519');
    const privatePem = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const publicPem = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await deps.db.insert(installationKeys).values({
      name: KEY_NAME,
      sealedPrivateKey: deps.keyring.sealSecret(privatePem, KEY_NAME),
      publicKeyPem: publicPem,
      createdAt: deps.clock.now(),
    }).onConflictDoNothing();
    [row] = await deps.db.select().from(installationKeys).where(eq(installationKeys.name, KEY_NAME));
  }
  const key: SigningKey = {
    privateKey: createPrivateKey(deps.keyring.openSecret(row!.sealedPrivateKey, KEY_NAME)),
    publicKeyPem: row!.publicKeyPem,
    keyId: keyIdOf(row!.publicKeyPem),
  };
  cache.set(deps.db, key);
  return key;
}

/** Serializes `payload` once and signs exactly that text. */
export function signEvidence(key: SigningKey, payload: Record<string, unknown>): VerificationEvidence {
  const text = JSON.stringify(payload);
  return {
    signed_payload: text,
    signature: sign(null, Buffer.from(text, 'utf8'), key.privateKey).toString('base64'),
    key_id: key.keyId,
    algorithm: 'Ed25519',
  };
}

/** What an auditor does: true when `signature` is the key's signature of `signed_payload`. */
export function verifyEvidence(publicKeyPem: string, evidence: Pick<VerificationEvidence, 'signed_payload' | 'signature'>): boolean {
  return verify(null, Buffer.from(evidence.signed_payload, 'utf8'), createPublicKey(publicKeyPem), Buffer.from(evidence.signature, 'base64'));
}
