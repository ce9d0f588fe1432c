import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { AuditEvent, AuditEventList, AuditListQuery, AuditVerification } from './schemas.ts';
import * as service from './service.ts';

const tags = ['audit'];

function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => part.trim().split(';')[0]!.trim().toLowerCase() === 'text/csv');
}

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/audit', {
      config: { permission: 'activity:read' },
      schema: {
        operationId: 'listAuditEvents', tags, summary: 'List security audit events',
        description: 'Newest first. With `Accept: text/csv` the same filters return every matching event (up to 100,000, ignoring `limit` and `cursor`) as a CSV file.',
        querystring: AuditListQuery,
        response: {
          200: {
            content: {
              'application/json': { schema: ref(AuditEventList) },
              'text/csv': { schema: Type.String({ description: 'Columns: date, type, service, status, task, performed_by, ip, description, id, hash.' }) },
            },
          },
        },
      },
    }, async (request, reply) => {
      const ctx = requireCtx(request.ctx);
      const { from, to, type, performed_by } = request.query;
      const filter = { from, to, type, performed_by };
      if (wantsCsv(request.headers.accept)) {
        const csv = await service.exportAuditCsv(deps, ctx, filter);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', 'attachment; filename="security-audit.csv"')
          .serializer((payload: unknown) => payload as string)
          .send(csv as never);
      }
      return reply.type('application/json; charset=utf-8').send(await service.listAuditEvents(deps, ctx, pageRequest(request.query), filter));
    });

    app.get('/v1/audit/verify', {
      config: { permission: 'activity:read' },
      schema: {
        operationId: 'verifyAuditChain', tags, summary: 'Verify the audit log\'s hash chain',
        description: 'Recomputes every event\'s hash from the first one and reports the first event whose content, order or link to its predecessor was changed, then checks that the chain ends at the head record written with every event (so removing the newest events is found too). An intact chain comes with a checkpoint signed with Ed25519: keep it (the summary report carries one too), and a later chain without its head event and hash at that position proves tampering.',
        response: { 200: ref(AuditVerification) },
      },
    }, async (request) => service.verifyAuditChain(deps, requireCtx(request.ctx).accountId));

    app.get('/v1/audit/:id', {
      config: { permission: 'activity:read' },
      schema: { operationId: 'getAuditEvent', tags, summary: 'Get a security audit event', params: IdParam('aud'), response: { 200: ref(AuditEvent) } },
    }, async (request) => service.getAuditEvent(deps, requireCtx(request.ctx), request.params.id));
  };
