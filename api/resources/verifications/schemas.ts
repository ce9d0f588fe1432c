import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, Timestamp, ref } from '../../schemas/common.ts';

export const VERIFICATION_STATES = ['pending', 'running', 'succeeded', 'failed'] as const;
export const FAILURE_KINDS = ['missing_block', 'missing_pack', 'corrupt_block', 'size_mismatch', 'block_list_mismatch', 'content_hash_mismatch'] as const;

export const VerificationRequest = Type.Object(
  {
    sample_percent: Type.Optional(Type.Number({
      exclusiveMinimum: 0, maximum: 100, default: 5,
      description: 'Share of the snapshot\'s files to read back, chosen at random (default 5). At least 100 files are read (all of them when there are fewer), and every file changed since the previous verification always is.',
    })),
  },
  { $id: 'VerificationRequest', additionalProperties: false },
);

export const VerificationFailure = Type.Object(
  {
    path: Type.String({ description: 'The file, as shown in the snapshot.' }),
    kind: Type.Enum(FAILURE_KINDS, {
      description: '`missing_block`: a block of the file is recorded in no pack; `missing_pack`: the pack holding the block is gone from storage; `corrupt_block`: the stored block failed decryption (tampered or damaged), decompression or its SHA-256; `size_mismatch`: a block holds a different number of bytes than its position in the file needs; `block_list_mismatch`: the file\'s block list disagrees with its size, its content_hash or the stored content; `content_hash_mismatch`: the bytes read back do not give the Dropbox content_hash recorded at backup.',
    }),
    block_hash: Type.Union([Type.String(), Type.Null()], { description: 'Hex SHA-256 of the block at fault, when one is.' }),
    pack_id: Type.Union([Type.String(), Type.Null()], { description: 'The pack holding that block, when known.' }),
    detail: Type.String(),
  },
  { $id: 'VerificationFailure', additionalProperties: false },
);

export const VerificationEvidence = Type.Object(
  {
    signed_payload: Type.String({ description: 'The exact JSON text that was signed: the verification\'s summary (ids, counts, failures, times, key_id). Verify these bytes; do not re-serialize them.' }),
    signature: Type.String({ description: 'Base64 Ed25519 signature over the UTF-8 bytes of `signed_payload`.' }),
    key_id: Type.String({ description: 'Hex SHA-256 of the signing public key (DER, SubjectPublicKeyInfo).' }),
    algorithm: Type.Literal('Ed25519'),
  },
  {
    $id: 'VerificationEvidence',
    description: 'A signed summary to keep as evidence. Check it offline with the public key of GET /v1/verification-key, e.g. Node: `crypto.verify(null, Buffer.from(signed_payload), public_key_pem, Buffer.from(signature, "base64"))`.',
    additionalProperties: false,
  },
);

export const Verification = Type.Object(
  {
    id: Type.String({ description: 'The verification (`ver_…`).' }),
    entity_id: Type.String(),
    task_id: Type.String(),
    snapshot_id: Type.String({ description: 'The snapshot read back: the entity\'s latest when the verification was asked for.' }),
    state: Type.Enum(VERIFICATION_STATES, { description: '`pending`; `running`; `succeeded`: every sampled file read back intact; `failed`: see `failures` (or `error` when it could not run to its end).' }),
    reason: Type.Enum(['manual', 'scheduled']),
    sample_percent: Type.Number(),
    baseline_snapshot_id: Type.Union([Type.String(), Type.Null()], { description: 'The snapshot of the previous completed verification; files changed since it are all checked. Null for the first one.' }),
    files_in_snapshot: Type.Integer(),
    files_changed: Type.Integer({ description: 'Files changed since the baseline (all checked).' }),
    files_checked: Type.Integer(),
    files_failed: Type.Integer(),
    blocks_checked: Type.Integer({ description: 'Block references read back (a block shared by two checked files counts twice).' }),
    bytes_checked: Type.Integer({ description: 'Plaintext bytes read back, decrypted and verified.' }),
    failures: Type.Array(ref(VerificationFailure), { description: 'Everything that would not restore (the first 1,000).' }),
    error: Type.Union([Type.String(), Type.Null()], { description: 'Why the verification could not run to its end; it proves nothing then.' }),
    evidence: Type.Union([ref(VerificationEvidence), Type.Null()], { description: 'The signed summary; null until the verification finished.' }),
    created_at: Timestamp(),
    started_at: NullableTimestamp(),
    finished_at: NullableTimestamp(),
    duration_ms: Type.Union([Type.Integer(), Type.Null()], { description: 'null until finished.' }),
  },
  { $id: 'Verification', additionalProperties: false },
);
export type Verification = Static<typeof Verification>;

export const VerificationList = Page(Verification, 'VerificationList');

export const VerificationListQuery = Type.Object(
  {
    ...PageQuery,
    entity_id: Type.Optional(Type.String({ pattern: '^ent_[0-9a-z]{26}$', description: 'Only verifications of this entity.' })),
    state: Type.Optional(Type.Enum(VERIFICATION_STATES, { description: 'Only verifications in this state.' })),
  },
  { additionalProperties: false },
);

export const VerificationKey = Type.Object(
  {
    public_key_pem: Type.String({ description: 'The installation\'s Ed25519 public key (PEM, SubjectPublicKeyInfo).' }),
    key_id: Type.String({ description: 'Hex SHA-256 of the key (DER); every signed payload names it.' }),
    algorithm: Type.Literal('Ed25519'),
  },
  { $id: 'VerificationKey', additionalProperties: false },
);

export const schemas = [VerificationRequest, VerificationFailure, VerificationEvidence, Verification, VerificationList, VerificationKey];
