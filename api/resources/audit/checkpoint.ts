// Signed checkpoints of the audit chain. The database alone cannot prove that nobody rewrote the
// newest events and the head record together, so verify (and the summary report) hand the customer
// a statement they can keep: "on <date>, account <id>'s chain had <events> events ending in <hash>",
// signed with Ed25519. A later chain that lacks that event or hash is proof of tampering, checkable
// offline with the public key alone. The signing key is derived from the master keyring's current
// key (HKDF), so it is never stored and changes only when the master key is rotated (`key_id`).
import { createPrivateKey, createPublicKey, hkdfSync, sign, verify, type KeyObject } from 'node:crypto';
import type { MasterKeyring } from '../../../workers/storage/keys.ts';
import type { AuditCheckpoint } from './schemas.ts';

// An Ed25519 private key in PKCS#8 DER is this fixed prefix followed by the 32-byte seed (RFC 8410).
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

const cache = new WeakMap<Buffer, { privateKey: KeyObject; publicKey: string }>();

function signingKey(keyring: MasterKeyring) {
  const master = keyring.current.key;
  let keys = cache.get(master);
  if (!keys) {
    const seed = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'coffer/audit-checkpoints/v1', 32));
    const privateKey = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]), format: 'der', type: 'pkcs8' });
    const publicKey = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).toString('base64');
    keys = { privateKey, publicKey };
    cache.set(master, keys);
  }
  return keys;
}

export interface ChainHead {
  events: number;
  headEventId: string | null;
  headHash: string;
}

/** The exact bytes signed: one field per line, so any verifier can rebuild them. */
export function checkpointPayload(accountId: string, head: ChainHead, signedAt: string): string {
  return ['coffer-audit-checkpoint/v1', accountId, String(head.events), head.headEventId ?? '', head.headHash, signedAt].join('\n');
}

export function signCheckpoint(keyring: MasterKeyring, accountId: string, head: ChainHead, signedAt: Date): AuditCheckpoint {
  const { privateKey, publicKey } = signingKey(keyring);
  const signed_at = signedAt.toISOString();
  const payload = checkpointPayload(accountId, head, signed_at);
  return {
    account_id: accountId,
    events: head.events,
    head_event_id: head.headEventId,
    head_hash: head.headHash,
    signed_at,
    algorithm: 'Ed25519',
    key_id: `master-v${keyring.current.version}`,
    public_key: publicKey,
    payload,
    signature: sign(null, Buffer.from(payload), privateKey).toString('base64'),
  };
}

/** What a customer does with a kept checkpoint: check the signature over the payload with the public key. */
export function verifyCheckpoint(checkpoint: Pick<AuditCheckpoint, 'payload' | 'signature' | 'public_key'>): boolean {
  const key = createPublicKey({ key: Buffer.from(checkpoint.public_key, 'base64'), format: 'der', type: 'spki' });
  return verify(null, Buffer.from(checkpoint.payload), key, Buffer.from(checkpoint.signature, 'base64'));
}
