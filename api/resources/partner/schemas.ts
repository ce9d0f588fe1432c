// The partner roll-ups: every customer's health and every customer's usage, each in one request.
import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, PageQuery, ref } from '../../schemas/common.ts';
import { REGIONS } from '../../regions.ts';
import { AccountState } from '../accounts/schemas.ts';
import { TaskOverview } from '../tasks/schemas.ts';

export const HEALTH_STATES = ['healthy', 'warning', 'critical'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** Why a customer is not healthy; each reason names the state it leads to. */
export const HEALTH_REASONS = ['backup_overdue_24h', 'backup_overdue_48h', 'task_disconnected', 'billing_past_due', 'billing_suspended'] as const;
export type HealthReason = (typeof HEALTH_REASONS)[number];

export const HEALTH_RULE =
  'The health rule: `critical` when a protected entity has had no completed backup for more than 48 hours (`backup_overdue_48h`) or the ' +
  'account\'s billing failed (`billing_past_due`, `billing_suspended`); else `warning` when a protected entity has had no completed ' +
  'backup for more than 24 hours (`backup_overdue_24h`) or a task is disconnected from Dropbox (`task_disconnected`); else `healthy`. ' +
  'A protected entity is one backed up on schedule (status scheduled, in process, success, failed or partial) in a task that is not ' +
  'paused; a completed backup is a snapshot that finished (succeeded, or partial with some files failed); an entity never backed up ' +
  'counts from when it was discovered.';

const Billing = Type.Enum(['partner', 'direct'], { description: '`partner`: invoiced to the partner, one line per customer; `direct`: the customer pays its own invoices.' });
const EntityCounts = Type.Object(
  {
    total: Type.Integer({ description: 'Entities that are not deleted.' }),
    protected: Type.Integer({ description: 'Entities backed up on schedule (scheduled, in process, success, failed, partial).' }),
    by_status: Type.Record(Type.String(), Type.Integer(), { description: 'Entities per status; every status is present, 0 when none.' }),
  },
  { additionalProperties: false },
);

export const CustomerHealth = Type.Object(
  {
    account_id: Type.String({ examples: ['acct_01jd8x4z3q9v6w2k5m7n0p1r8s'] }),
    name: Type.String(),
    region: Type.String(),
    account_state: AccountState,
    billing: Billing,
    health: Type.Enum([...HEALTH_STATES]),
    reasons: Type.Array(Type.Enum([...HEALTH_REASONS]), { description: 'Every reason the customer is not healthy (empty when healthy).' }),
    entities: EntityCounts,
    protected_bytes: Type.Integer({ description: 'Size of the latest snapshots of the protected and paused entities.' }),
    last_backup_at: NullableTimestamp('The most recent completed backup of any entity of the customer.'),
    stalest_backup_at: NullableTimestamp('The protected entity longest without a completed backup: when it last had one (or was discovered). Null when nothing is protected.'),
    failing_entities: Type.Integer({ description: 'Entities whose latest backup failed or was partial.' }),
    smart_alerts_last_7_days: Type.Integer({ description: 'Smart alerts (mass deletion or modification) raised in the last 7 days.' }),
    disconnected_tasks: Type.Integer(),
    tasks: Type.Array(ref(TaskOverview), { description: 'Each task\'s overview, as GET /v1/tasks/{id}/overview shows it.' }),
  },
  { $id: 'CustomerHealth', additionalProperties: false, description: `One customer at a glance. ${HEALTH_RULE}` },
);
export type CustomerHealth = Static<typeof CustomerHealth>;

export const HealthTotals = Type.Object(
  {
    customers: Type.Integer(),
    by_health: Type.Object({ healthy: Type.Integer(), warning: Type.Integer(), critical: Type.Integer() }, { additionalProperties: false }),
    entities: EntityCounts,
    protected_bytes: Type.Integer(),
    failing_entities: Type.Integer(),
    smart_alerts_last_7_days: Type.Integer(),
    tasks: Type.Integer(),
    disconnected_tasks: Type.Integer(),
  },
  { $id: 'HealthTotals', additionalProperties: false, description: 'Sums over every customer that matches the filters (not only this page).' },
);

export const PartnerHealth = Type.Object(
  {
    totals: ref(HealthTotals),
    data: Type.Array(ref(CustomerHealth)),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page.' }),
  },
  { $id: 'PartnerHealth', additionalProperties: false },
);
export type PartnerHealth = Static<typeof PartnerHealth>;

export const HealthQuery = Type.Object(
  {
    ...PageQuery,
    health: Type.Optional(Type.Enum([...HEALTH_STATES], { description: 'Only customers in this state.' })),
    name: Type.Optional(Type.String({ maxLength: 200, description: 'Substring of the customer\'s name, case-insensitive.' })),
    region: Type.Optional(Type.Enum(REGIONS.map((r) => r.id), { description: 'Only customers in this region.' })),
  },
  { additionalProperties: false },
);
export type HealthQuery = Static<typeof HealthQuery>;

export const CustomerUsage = Type.Object(
  {
    account_id: Type.String(),
    name: Type.String(),
    region: Type.String(),
    billing: Billing,
    protected_entities: Type.Integer({ description: 'The peak of protected entities recorded in the month (the live count when no day was recorded).' }),
    stored_bytes: Type.Integer({ description: 'The peak of stored bytes recorded in the month (the live figure when no day was recorded).' }),
    restores: Type.Integer({ description: 'Restore jobs created in the month.' }),
    exports: Type.Integer({ description: 'Export jobs created in the month.' }),
    amount: Type.Integer({ description: 'What the month costs at the monthly plan\'s prices, in minor units of `currency` (the same lines an invoice carries, minimum entities included).' }),
  },
  { $id: 'CustomerUsage', additionalProperties: false },
);
export type CustomerUsage = Static<typeof CustomerUsage>;

export const PartnerUsage = Type.Object(
  {
    month: Type.String({ examples: ['2026-11'] }),
    currency: Type.String(),
    totals: Type.Object(
      {
        customers: Type.Integer(),
        protected_entities: Type.Integer(),
        stored_bytes: Type.Integer(),
        restores: Type.Integer(),
        exports: Type.Integer(),
        amount: Type.Integer({ description: 'Every customer\'s amount.' }),
        partner_billed_amount: Type.Integer({ description: 'The amounts of the customers billed to the partner (`billing: partner`): what the partner\'s invoice carries for them.' }),
      },
      { additionalProperties: false },
    ),
    data: Type.Array(ref(CustomerUsage), { description: 'Every customer the partner manages now (revoked ones excepted), by account id.' }),
  },
  { $id: 'PartnerUsage', additionalProperties: false },
);
export type PartnerUsage = Static<typeof PartnerUsage>;

export const UsageMonthQuery = Type.Object(
  { month: Type.String({ pattern: '^[0-9]{4}-(0[1-9]|1[0-2])$', description: 'A calendar month (UTC), `YYYY-MM`; not after the current one.', examples: ['2026-11'] }) },
  { additionalProperties: false },
);

export const schemas = [CustomerHealth, HealthTotals, PartnerHealth, CustomerUsage, PartnerUsage];
