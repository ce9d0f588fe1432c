// Bringing an existing account under a partner: the partner invites it, only that account's
// administrator can accept (or decline); the administrator can withdraw the partner's access later.
import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, Page, PageQuery, ref, Timestamp } from '../../schemas/common.ts';
import { Billing } from '../customers/schemas.ts';

export const PartnerInvitation = Type.Object(
  {
    id: Type.String({ examples: ['pinv_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    partner_account_id: Type.String(),
    partner_name: Type.String(),
    customer_account_id: Type.String(),
    customer_name: Type.String(),
    billing: ref(Billing),
    state: Type.Enum(['pending', 'accepted', 'declined', 'cancelled', 'expired']),
    created_at: Timestamp(),
    expires_at: Timestamp('A pending invitation can be accepted until then (14 days).'),
    decided_at: NullableTimestamp(),
  },
  { $id: 'PartnerInvitation', additionalProperties: false },
);
export type PartnerInvitation = Static<typeof PartnerInvitation>;

export const PartnerInvitationCreate = Type.Object(
  {
    account_id: Type.Optional(Type.String({ pattern: '^acct_[0-9a-z]{26}$', description: 'The account to invite; or give `admin_email`.' })),
    admin_email: Type.Optional(Type.String({ format: 'email', maxLength: 254, description: 'The email of an administrator of the account to invite.' })),
    billing: ref(Billing),
  },
  { $id: 'PartnerInvitationCreate', additionalProperties: false },
);
export type PartnerInvitationCreate = Static<typeof PartnerInvitationCreate>;

export const PartnerInvitationList = Page(PartnerInvitation, 'PartnerInvitationList');

export const PartnerInvitationListQuery = Type.Object(
  { ...PageQuery, state: Type.Optional(Type.Enum(['pending', 'accepted', 'declined', 'cancelled', 'expired'])) },
  { additionalProperties: false },
);

export const schemas = [PartnerInvitation, PartnerInvitationCreate, PartnerInvitationList];
