import { Type, type Static } from '@fastify/type-provider-typebox';
import { Page, PageQuery, Timestamp } from '../../schemas/common.ts';

export const IpAllowlist = Type.Object(
  {
    enabled: Type.Boolean({ description: 'When on, every authenticated request (API keys and sessions) from an address outside the entries is refused with 403 `access_denied`.' }),
    entries: Type.Integer({ description: 'How many entries the list holds.' }),
    your_ip: Type.String({ description: 'The address this request came from, as the allowlist sees it.' }),
    updated_at: Timestamp(),
  },
  { $id: 'IpAllowlist', additionalProperties: false },
);
export type IpAllowlist = Static<typeof IpAllowlist>;

export const IpAllowlistUpdate = Type.Object(
  { enabled: Type.Boolean() },
  { $id: 'IpAllowlistUpdate', additionalProperties: false },
);

const IpRange = Type.Object(
  {
    from: Type.String({ maxLength: 64, examples: ['79.181.255.0'] }),
    to: Type.String({ maxLength: 64, examples: ['79.181.255.16'] }),
  },
  { additionalProperties: false, description: 'An inclusive range of contiguous addresses of one family.' },
);

export const IpAllowlistEntry = Type.Object(
  {
    id: Type.String({ examples: ['ipr_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    description: Type.Union([Type.String(), Type.Null()]),
    kind: Type.Enum(['addresses', 'range', 'cidr']),
    addresses: Type.Union([Type.Array(Type.String()), Type.Null()]),
    range: Type.Union([IpRange, Type.Null()]),
    cidr: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp(),
    updated_at: Timestamp(),
  },
  { $id: 'IpAllowlistEntry', additionalProperties: false, description: 'Trusted addresses: a list of addresses, a range, or a CIDR block (IPv4 or IPv6).' },
);
export type IpAllowlistEntry = Static<typeof IpAllowlistEntry>;

const definition = {
  description: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()], { examples: ['Office'] })),
  addresses: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 100, examples: [['192.168.10.5', '2001:db8::1']] })),
  range: Type.Optional(IpRange),
  cidr: Type.Optional(Type.String({ maxLength: 64, examples: ['10.0.0.0/8'] })),
};

export const IpAllowlistEntryCreate = Type.Object(definition, {
  $id: 'IpAllowlistEntryCreate', additionalProperties: false, description: 'Exactly one of `addresses`, `range` or `cidr`.',
});
export type IpAllowlistEntryCreate = Static<typeof IpAllowlistEntryCreate>;

export const IpAllowlistEntryUpdate = Type.Object(definition, {
  $id: 'IpAllowlistEntryUpdate', additionalProperties: false, description: 'At most one of `addresses`, `range` or `cidr` (replacing what the entry holds).',
});
export type IpAllowlistEntryUpdate = Static<typeof IpAllowlistEntryUpdate>;

export const IpAllowlistEntryList = Page(IpAllowlistEntry, 'IpAllowlistEntryList');
export const IpAllowlistEntryListQuery = Type.Object({ ...PageQuery }, { additionalProperties: false });

export const schemas = [IpAllowlist, IpAllowlistUpdate, IpAllowlistEntry, IpAllowlistEntryCreate, IpAllowlistEntryUpdate, IpAllowlistEntryList];
