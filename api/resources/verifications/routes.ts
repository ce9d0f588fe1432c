import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { Verification, VerificationKey, VerificationList, VerificationListQuery, VerificationRequest } from './schemas.ts';
import * as service from './service.ts';

const tags = ['verifications'];

// `backups:read` guards the verifications: a verification only reads the backup (nothing in Dropbox
// or in storage changes), and its result shows no more than that permission already does (paths,
// sizes, block hashes). One at a time per entity bounds the storage reads anyone can cause.
export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.post('/v1/entities/:id/verifications', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'startVerification', tags, summary: 'Start a restore drill of an entity\'s latest snapshot',
        description: 'Reads a sample of the latest snapshot back from storage (202): `sample_percent` of its files at random (at least 100, or all), plus every file changed since the previous verification. Every block is decrypted, decompressed and re-hashed, every file\'s Dropbox content_hash is recomputed, and each file\'s size and block list are checked against the snapshot. The result carries a summary signed with the installation\'s Ed25519 key (GET /v1/verification-key). 409 `no_snapshot` before the first completed backup, 409 `verification_in_progress` while one is pending or running.',
        params: IdParam('ent'), body: ref(VerificationRequest), response: { 202: ref(Verification) },
      },
    }, async (request, reply) => {
      const v = await service.startVerification(deps, requireCtx(request.ctx), request.params.id, request.body ?? {});
      return reply.code(202).header('location', `/v1/verifications/${v.id}`).send(v);
    });

    app.get('/v1/verifications', {
      config: { permission: 'backups:read' },
      schema: {
        operationId: 'listVerifications', tags, summary: 'List verifications', description: 'Newest first.',
        querystring: VerificationListQuery, response: { 200: ref(VerificationList) },
      },
    }, async (request) => {
      const { entity_id, state } = request.query;
      return service.listVerifications(deps, requireCtx(request.ctx), pageRequest(request.query), { entity_id, state });
    });

    app.get('/v1/verifications/:id', {
      config: { permission: 'backups:read' },
      schema: { operationId: 'getVerification', tags, summary: 'Get a verification and its signed evidence', params: IdParam('ver'), response: { 200: ref(Verification) } },
    }, async (request) => service.getVerification(deps, requireCtx(request.ctx), request.params.id));

    // Public: an auditor without a Coffer login checks evidence against it; it is a public key.
    app.get('/v1/verification-key', {
      config: { public: true },
      schema: {
        operationId: 'getVerificationKey', tags, summary: 'The public key that signs verification evidence',
        description: 'The installation\'s Ed25519 public key. Every verification\'s `evidence.signature` is a signature of `evidence.signed_payload` under it.',
        response: { 200: ref(VerificationKey) },
      },
    }, async () => service.verificationKey(deps));
  };
