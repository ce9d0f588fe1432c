import { Type, type Static } from '@fastify/type-provider-typebox';
import { Page, PageQuery, Timestamp, ref } from '../../schemas/common.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()]);

export const AuditEvent = Type.Object(
  {
    id: Type.String({ examples: ['aud_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    seq: Type.Integer({ minimum: 1, description: 'Position in the account\'s chain, from 1.' }),
    date: Timestamp('When it happened.'),
    type: Type.String({
      description: 'The user activity: sign_in, sign_in_failed, sign_out, user_invited, user_confirmed, user_updated, permissions_changed, user_deactivated, user_reactivated, user_deleted, password_changed, password_reset_requested, password_reset, settings_changed, api_key_created, api_key_revoked, ip_allowlist_changed, 2fa_enabled, 2fa_disabled, backup_deleted, notification.',
      examples: ['sign_in'],
    }),
    service: Nullable(Type.String({ description: 'The service involved, e.g. `dropbox`.' })),
    status: Type.Enum(['completed', 'failed']),
    task: Nullable(Type.String({ description: 'The task or subject the event concerns.' })),
    performed_by: Nullable(Type.String({ description: 'The email of the user who performed it.' })),
    performed_by_user_id: Nullable(Type.String()),
    actor: Type.Object(
      {
        user_id: Nullable(Type.String()),
        account_id: Type.String({ description: 'The account the acting user belongs to: the partner\'s when a partner acted for this account.' }),
        partner_account_id: Nullable(Type.String({ description: 'Set when a partner (an MSP) did this on the account\'s behalf.' })),
      },
      { additionalProperties: false, description: 'Who did it. Events a partner caused in a customer\'s account also appear in the partner\'s own audit log, with `details.customer_account_id`.' },
    ),
    ip: Nullable(Type.String({ description: 'The client address.' })),
    user_agent: Nullable(Type.String()),
    description: Type.String(),
    details: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    prev_hash: Type.String({ description: 'The previous event\'s hash (64 zeros for the first event).' }),
    hash: Type.String({ description: 'SHA-256 (hex) over prev_hash and this event\'s canonical JSON.' }),
  },
  { $id: 'AuditEvent', additionalProperties: false, description: 'A security audit event (append-only, hash-chained).' },
);
export type AuditEvent = Static<typeof AuditEvent>;

export const AuditEventList = Page(AuditEvent, 'AuditEventList');

export const AuditListQuery = Type.Object(
  {
    ...PageQuery,
    from: Type.Optional(Type.String({ format: 'date-time', description: 'Events at or after this time.' })),
    to: Type.Optional(Type.String({ format: 'date-time', description: 'Events before this time.' })),
    type: Type.Optional(Type.String({ maxLength: 64, description: 'Only events of this type.' })),
    performed_by: Type.Optional(Type.String({ maxLength: 254, description: 'A user id (`usr_…`) or email.' })),
  },
  { additionalProperties: false },
);

export const AuditCheckpoint = Type.Object(
  {
    account_id: Type.String(),
    events: Type.Integer({ minimum: 0, description: 'How many events the chain had: the head event\'s `seq` (0 for an empty log).' }),
    head_event_id: Type.Union([Type.String(), Type.Null()], { description: 'The newest event (null for an empty log).' }),
    head_hash: Type.String({ description: 'The newest event\'s `hash` (64 zeros for an empty log).' }),
    signed_at: Timestamp('When the checkpoint was signed.'),
    algorithm: Type.Enum(['Ed25519']),
    key_id: Type.String({ description: 'Which signing key: it changes only when the master key is rotated.', examples: ['master-v1'] }),
    public_key: Type.String({ description: 'The Ed25519 public key, base64 of its DER SubjectPublicKeyInfo.' }),
    payload: Type.String({ description: 'The exact text signed: `coffer-audit-checkpoint/v1`, account_id, events, head_event_id, head_hash, signed_at, one per line (joined by `\\n`, no trailing newline).' }),
    signature: Type.String({ description: 'Base64 Ed25519 signature of `payload` (UTF-8).' }),
  },
  {
    $id: 'AuditCheckpoint',
    additionalProperties: false,
    description: 'A signed statement of where the audit chain ended. Keep it: if a later chain lacks `head_event_id` with `head_hash` at position `events`, events were removed or rewritten.',
  },
);
export type AuditCheckpoint = Static<typeof AuditCheckpoint>;

export const AuditVerification = Type.Object(
  {
    intact: Type.Boolean({ description: 'Every event\'s hash matches its content and the previous event, and the chain ends where the head record says.' }),
    events_checked: Type.Integer({ description: 'Events examined, up to and including the first broken one.' }),
    first_broken_event_id: Type.Union([Type.String(), Type.Null()], { description: 'The first stored event that does not fit (null when the chain is intact or only its end is missing).' }),
    reason: Type.Union([Type.String(), Type.Null()], { description: 'Why the chain is not intact (null when it is).' }),
    checkpoint: Type.Union([ref(AuditCheckpoint), Type.Null()], { description: 'A signed checkpoint of the verified chain (null when it is not intact).' }),
  },
  { $id: 'AuditVerification', additionalProperties: false },
);
export type AuditVerification = Static<typeof AuditVerification>;

export const schemas = [AuditEvent, AuditEventList, AuditCheckpoint, AuditVerification];
