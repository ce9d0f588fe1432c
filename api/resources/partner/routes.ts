import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { ref } from '../../schemas/common.ts';
import { HEALTH_CSV_COLUMNS, partnerHealth, partnerHealthCsv } from './health.ts';
import { partnerUsage, partnerUsageCsv, USAGE_CSV_COLUMNS } from './usage.ts';
import { HEALTH_RULE, HealthQuery, PartnerHealth, PartnerUsage, UsageMonthQuery } from './schemas.ts';

const tags = ['partner'];

function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => part.trim().split(';')[0]!.trim().toLowerCase() === 'text/csv');
}

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/partner/health', {
      config: { permission: 'customers:read' },
      schema: {
        operationId: 'getPartnerHealth', tags, summary: 'Every customer\'s health, tasks, failures and alerts, with totals',
        description: `A partner account only (a standard account gets 403 \`not_a_partner\`). Customers whose administrator revoked the partner's access are left out. Customers in account id order, a page at a time; \`totals\` cover every customer matching the filters. Filters: \`health\`, \`name\` (case-insensitive substring), \`region\`. With \`Accept: text/csv\` the same filters return every matching customer (ignoring \`limit\` and \`cursor\`) as a CSV file. ${HEALTH_RULE}`,
        querystring: HealthQuery,
        response: {
          200: {
            content: {
              'application/json': { schema: ref(PartnerHealth) },
              'text/csv': { schema: Type.String({ description: `Columns: ${HEALTH_CSV_COLUMNS.join(', ')} (reasons separated by spaces).` }) },
            },
          },
        },
      },
    }, async (request, reply) => {
      const ctx = requireCtx(request.ctx);
      if (wantsCsv(request.headers.accept)) {
        const csv = await partnerHealthCsv(deps, ctx, request.query);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="customer-health.csv"')
          .serializer((payload: unknown) => payload as string)
          .send(csv as never);
      }
      return reply.type('application/json; charset=utf-8').send(await partnerHealth(deps, ctx, pageRequest(request.query), request.query));
    });

    app.get('/v1/partner/usage', {
      config: { permission: 'customers:read' },
      schema: {
        operationId: 'getPartnerUsage', tags, summary: 'Every customer\'s usage and amount for a month, with totals',
        description: 'A partner account only (a standard account gets 403 `not_a_partner`). For each current customer (revoked ones left out): the peak of protected entities and stored bytes recorded in the month (as invoices count them), the restore and export jobs created in it, and the amount at the monthly plan\'s prices. `month` is a calendar month in UTC, `YYYY-MM`, not after the current one (400 otherwise). With `Accept: text/csv`, one row per customer.',
        querystring: UsageMonthQuery,
        response: {
          200: {
            content: {
              'application/json': { schema: ref(PartnerUsage) },
              'text/csv': { schema: Type.String({ description: `Columns: ${USAGE_CSV_COLUMNS.join(', ')} (amounts in minor units).` }) },
            },
          },
        },
      },
    }, async (request, reply) => {
      const ctx = requireCtx(request.ctx);
      if (wantsCsv(request.headers.accept)) {
        const csv = await partnerUsageCsv(deps, ctx, request.query.month);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="customer-usage-${request.query.month}.csv"`)
          .serializer((payload: unknown) => payload as string)
          .send(csv as never);
      }
      return reply.type('application/json; charset=utf-8').send(await partnerUsage(deps, ctx, request.query.month));
    });
  };
