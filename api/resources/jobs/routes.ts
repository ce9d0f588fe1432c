import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, PageQuery, ref } from '../../schemas/common.ts';
import { ExportRequest, Job, JobItemList, JobList, JobListQuery, JobSummary, RestoreRequest } from './schemas.ts';
import * as service from './service.ts';
import { parseRange, sliceStream } from './range.ts';
import { CSV_COLUMNS, jobItemsCsv, listJobItems } from './items.ts';

const tags = ['recovery'];
const Params = IdParam('job');
const Zip = {
  description: 'The ZIP archive, streamed.',
  content: { 'application/zip': { schema: Type.String({ format: 'binary' }) } },
};
const ZipPart = {
  description: 'Partial Content: the bytes the Range header asked for (resuming a download).',
  content: { 'application/zip': { schema: Type.String({ format: 'binary' }) } },
};
const RANGES = ' Resumable: `Range: bytes=N-` answers 206 with the rest of the archive (416 beyond its end); send `If-Range` with the ETag of the first response so a changed archive is sent whole instead. The ETag is the archive\'s SHA-256, also published as `download.sha256` on the job.';

function wantsCsv(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(',').some((part) => part.trim().split(';')[0]!.trim().toLowerCase() === 'text/csv');
}

function sendDownload(request: FastifyRequest, reply: FastifyReply, d: service.Download) {
  reply
    .type('application/zip')
    .header('accept-ranges', 'bytes')
    .header('content-disposition', `attachment; filename="${d.filename}"`)
    .header('cache-control', 'private, no-store');
  const etag = d.sha256 ? `"${d.sha256}"` : undefined;
  if (etag) reply.header('etag', etag);
  const ifRange = request.headers['if-range'];
  const range = ifRange === undefined || ifRange === etag ? parseRange(request.headers.range, d.size) : null;
  if (!range) return reply.header('content-length', String(d.size)).send(d.stream);
  return reply
    .code(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${d.size}`)
    .header('content-length', String(range.end - range.start + 1))
    .send(sliceStream(d.stream, range));
}

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/restores', {
      config: { permission: 'recovery:restore', audit: 'restore_started' },
      schema: {
        operationId: 'createRestore', tags, summary: 'Restore a snapshot or items into Dropbox',
        description: 'Starts a restore job (202). Uploads go through upload sessions and batch commits (about three Dropbox data-transport calls per 1,000 small files); nothing is ever overwritten. When the team\'s monthly data-transport limit is reached the job stops as `partially_succeeded` and can be resumed.',
        body: ref(RestoreRequest), response: { 202: ref(Job) },
      },
    }, async (request, reply) => {
      const job = await service.createRestore(deps, requireCtx(request.ctx), request.body);
      return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
    });

    app.post('/v1/exports', {
      config: { permission: 'recovery:export', audit: 'export_started' },
      schema: {
        operationId: 'createExport', tags, summary: 'Export a snapshot or items as a ZIP',
        description: 'Starts an export job (202): a ZIP keeping the folder structure, to a download link (72 hours), your S3 bucket, Azure Blob Storage or Google Cloud Storage. Storage credentials are stored encrypted and never returned.',
        body: ref(ExportRequest), response: { 202: ref(Job) },
      },
    }, async (request, reply) => {
      const job = await service.createExport(deps, requireCtx(request.ctx), request.body);
      return reply.code(202).header('location', `/v1/jobs/${job.id}`).send(job);
    });

    app.get('/v1/jobs', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'listJobs', tags, summary: 'List restore and export jobs',
        description: 'By default the last 7 days, latest first. Filters: `type`, `state` (several, comma-separated, or a summary tile: `active`, `partially_succeeded_or_failed`), `task_id`, `entity_id`, `item` (a path or name among the selected items), `initiator`, `from` / `to`.',
        querystring: JobListQuery, response: { 200: ref(JobList) },
      },
    }, async (request) => service.listJobs(deps, requireCtx(request.ctx), pageRequest(request.query), request.query));

    app.get('/v1/jobs/summary', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'getJobSummary', tags, summary: 'Jobs of the last 7 days by outcome', response: { 200: ref(JobSummary) } },
    }, async (request) => service.summary(deps, requireCtx(request.ctx)));

    app.get('/v1/jobs/:id', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'getJob', tags, summary: 'Get a job', params: Params, response: { 200: ref(Job) } },
    }, async (request, reply) => {
      const { job, version } = await service.getJob(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return job;
    });

    app.get('/v1/jobs/:id/items', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'listJobItems', tags, summary: 'List the files a job wrote, and where',
        description: 'A restore\'s or export\'s results file by file, in the order the job wrote them (added as each batch is committed, so a running job shows its progress): each file\'s snapshot path, where it was written (the Dropbox path, renamed beside an existing different file; or the ZIP entry), its size and `restored` / `exported` / `failed` with the error. An export that is canceled or fails wrote nothing and lists nothing. With `Accept: text/csv` every item (up to 100,000, ignoring `limit` and `cursor`) as a CSV file.',
        params: Params, querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }),
        response: {
          200: {
            content: {
              'application/json': { schema: ref(JobItemList) },
              'text/csv': { schema: Type.String({ description: `Columns: ${CSV_COLUMNS.join(', ')}.` }) },
            },
          },
        },
      },
    }, async (request, reply) => {
      const ctx = requireCtx(request.ctx);
      if (wantsCsv(request.headers.accept)) {
        const csv = await jobItemsCsv(deps, ctx, request.params.id);
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', `attachment; filename="${request.params.id}-items.csv"`)
          .serializer((payload: unknown) => payload as string)
          .send(csv as never);
      }
      return reply.type('application/json; charset=utf-8').send(await listJobItems(deps, ctx, request.params.id, pageRequest(request.query)));
    });

    app.post('/v1/jobs/:id/cancel', {
      config: { audit: 'job_canceled' },
      schema: {
        operationId: 'cancelJob', tags, summary: 'Cancel a job',
        description: 'Needs `recovery:restore` for a restore, `recovery:export` for an export. A pending job is canceled at once; a running one stops at its next batch (restore) or file (export). What a canceled restore committed is complete and reported in `items_done`; a canceled export writes nothing and never gets a download link (to revoke the link of a finished export: DELETE /v1/jobs/{id}/download).',
        params: Params, response: { 200: ref(Job) },
      },
    }, async (request) => service.cancelJob(deps, requireCtx(request.ctx), request.params.id));

    app.post('/v1/jobs/:id/resume', {
      config: { permission: 'recovery:restore', audit: 'restore_resumed' },
      schema: {
        operationId: 'resumeJob', tags, summary: 'Resume a stopped restore',
        description: 'Continues a partially succeeded or failed restore from its last committed batch (e.g. after the data-transport limit reset).',
        params: Params, response: { 202: ref(Job) },
      },
    }, async (request, reply) => reply.code(202).send(await service.resumeJob(deps, requireCtx(request.ctx), request.params.id)));

    app.get('/v1/jobs/:id/download', {
      config: { permission: 'recovery:export' },
      schema: { operationId: 'downloadJobResult', tags, summary: 'Download an export\'s archive', description: `The archive of a finished export to \`download\`.${RANGES}`, params: Params, response: { 200: Zip, 206: ZipPart } },
    }, async (request, reply) => sendDownload(request, reply, await service.downloadJob(deps, requireCtx(request.ctx), request.params.id)));

    app.delete('/v1/jobs/:id/download', {
      config: { permission: 'recovery:export', audit: 'export_download_revoked' },
      schema: {
        operationId: 'revokeJobDownload', tags, summary: 'Revoke an export\'s download',
        description: 'The signed link stops working at once (404) and the archive is erased; downloading the job answers 410 `download_revoked`. The job itself stays, with `download: null`.',
        params: Params, response: { 200: ref(Job) },
      },
    }, async (request) => service.revokeDownload(deps, requireCtx(request.ctx), request.params.id));

    app.get('/v1/downloads/:token', {
      config: { public: true },
      schema: {
        operationId: 'downloadByLink', tags, summary: 'Download an export through its signed link',
        description: `No credentials: the link itself is the authorization. Valid 72 hours after the export finished, then 410; revoked (DELETE /v1/jobs/{id}/download) or canceled, 404. When the account's IP allowlist is on, only its trusted addresses may use the link (403 \`access_denied\`).${RANGES}`,
        params: Type.Object({ token: Type.String({ maxLength: 200 }) }),
        response: { 200: Zip, 206: ZipPart },
      },
    }, async (request, reply) => sendDownload(request, reply, await service.downloadByToken(deps, request.params.token, request.ip)));
  };
