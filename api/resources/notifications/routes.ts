import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import {
  NotificationRecipient, NotificationRecipientCreate, NotificationRecipientList, NotificationRecipientUpdate, NotificationSettings,
  NotificationSettingsUpdate, RecipientListQuery, ReportDownloadQuery, ReportPreviewQuery, SummaryReportSent,
} from './schemas.ts';
import * as service from './service.ts';
import { downloadReport, previewReport, sendSummaryReport } from './reports.ts';

const tags = ['notifications'];
const Params = IdParam('rcp');
const permission = 'notifications:manage' as const;

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/notifications/settings', {
      config: { permission },
      schema: { operationId: 'getNotificationSettings', tags, summary: 'Get the notification settings (summary report, smart-alert thresholds)', response: { 200: ref(NotificationSettings) } },
    }, async (request, reply) => {
      const { settings, version } = await service.getSettings(deps, requireCtx(request.ctx));
      setEtag(reply, version);
      return settings;
    });

    app.patch('/v1/notifications/settings', {
      config: { permission, ifMatch: true, audit: 'notification_settings_changed' },
      schema: { operationId: 'updateNotificationSettings', tags, summary: 'Change the notification settings', body: ref(NotificationSettingsUpdate), response: { 200: ref(NotificationSettings) } },
    }, async (request, reply) => {
      const { settings, version } = await service.updateSettings(deps, requireCtx(request.ctx), request.body, expectedVersion(request));
      setEtag(reply, version);
      return settings;
    });

    app.post('/v1/notifications/summary-report', {
      config: { permission },
      schema: {
        operationId: 'sendSummaryReport', tags, summary: 'Send the summary report for the last complete period now',
        description: 'Builds the report as the settings say (format, delivery, only_on_failure) for the last complete day, week or month and mails it to the summary_report recipients, as the scheduled report would. It does not change when the next scheduled report goes out.',
        response: { 200: ref(SummaryReportSent) },
      },
    }, async (request) => sendSummaryReport(deps, requireCtx(request.ctx).accountId));

    app.get('/v1/notifications/summary-report/preview', {
      config: { permission },
      schema: {
        operationId: 'previewSummaryReport', tags, summary: 'Preview the summary report as CSV (the seed\'s "Preview")',
        description: 'The CSV the report would carry for the last complete period, in the given format (default: the configured one). Nothing is sent.',
        querystring: ReportPreviewQuery,
        response: { 200: { content: { 'text/csv': { schema: Type.String({ description: 'The report as CSV.' }) } } } },
      },
    }, async (request, reply) => {
      const { filename, csv } = await previewReport(deps, requireCtx(request.ctx).accountId, request.query.format);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .serializer((payload: unknown) => payload as string)
        .send(csv as never);
    });

    app.get('/v1/notifications/reports/:id/download', {
      config: { public: true },
      schema: {
        operationId: 'downloadSummaryReport', tags, summary: 'Download a summary report (the signed link from the report email)',
        params: IdParam('rpt'), querystring: ReportDownloadQuery,
        response: { 200: { content: { 'text/csv': { schema: Type.String({ description: 'The report as CSV.' }) } } } },
      },
    }, async (request, reply) => {
      const { filename, csv } = await downloadReport(deps, request.params.id, request.query.expires, request.query.signature);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${filename}"`)
        .header('cache-control', 'private, no-store')
        .serializer((payload: unknown) => payload as string)
        .send(csv as never);
    });

    app.post('/v1/notifications/recipients', {
      config: { permission, audit: 'notification_recipient_added' },
      schema: { operationId: 'createNotificationRecipient', tags, summary: 'Add a notification recipient', body: ref(NotificationRecipientCreate), response: { 201: ref(NotificationRecipient) } },
    }, async (request, reply) => {
      const { recipient, version } = await service.createRecipient(deps, requireCtx(request.ctx), request.body);
      setEtag(reply, version);
      return reply.code(201).header('location', `/v1/notifications/recipients/${recipient.id}`).send(recipient);
    });

    app.get('/v1/notifications/recipients', {
      config: { permission },
      schema: { operationId: 'listNotificationRecipients', tags, summary: 'List notification recipients', querystring: RecipientListQuery, response: { 200: ref(NotificationRecipientList) } },
    }, async (request) => service.listRecipients(deps, requireCtx(request.ctx), pageRequest(request.query), { type: request.query.type }));

    app.get('/v1/notifications/recipients/:id', {
      config: { permission },
      schema: { operationId: 'getNotificationRecipient', tags, summary: 'Get a notification recipient', params: Params, response: { 200: ref(NotificationRecipient) } },
    }, async (request, reply) => {
      const { recipient, version } = await service.getRecipient(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return recipient;
    });

    app.patch('/v1/notifications/recipients/:id', {
      config: { permission, ifMatch: true, audit: 'notification_recipient_updated' },
      schema: { operationId: 'updateNotificationRecipient', tags, summary: 'Change a notification recipient', params: Params, body: ref(NotificationRecipientUpdate), response: { 200: ref(NotificationRecipient) } },
    }, async (request, reply) => {
      const { recipient, version } = await service.updateRecipient(deps, requireCtx(request.ctx), request.params.id, request.body, expectedVersion(request));
      setEtag(reply, version);
      return recipient;
    });

    app.delete('/v1/notifications/recipients/:id', {
      config: { permission, audit: 'notification_recipient_removed' },
      schema: { operationId: 'deleteNotificationRecipient', tags, summary: 'Remove a notification recipient', params: Params, response: { 204: { type: 'null', description: 'Deleted' } } },
    }, async (request, reply) => {
      await service.deleteRecipient(deps, requireCtx(request.ctx), request.params.id);
      return reply.code(204).send(null);
    });
  };
