import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { PageQuery, ref } from '../../schemas/common.ts';
import {
  IacState, IacStateDocument, IacStateList, IacStateListQuery, IacStateLock, IacStateLockCreate, IacStateVersionList,
  LockHeader, STATE_BODY_LIMIT, StateParams, UnlockQuery, VersionParams,
} from './schemas.ts';
import * as service from './service.ts';

const tags = ['iac'];
const permission = 'iac_state:manage' as const;

function lockIdOf(request: FastifyRequest): string | undefined {
  const header = request.headers['coffer-lock-id'];
  return typeof header === 'string' && header.length > 0 ? header : undefined;
}

/** The stored JSON text as it is: Fastify sends a string with a JSON content type unserialized. */
function sendDocument(reply: FastifyReply, json: string) {
  return reply.type('application/json; charset=utf-8').send(json as never);
}

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/iac/states', {
      config: { permission },
      schema: { operationId: 'listIacStates', tags, summary: 'List the remote states of `coffer iac` (name, serial, lineage, lock)', querystring: IacStateListQuery, response: { 200: ref(IacStateList) } },
    }, async (request) => service.listStates(deps, requireCtx(request.ctx), pageRequest(request.query)));

    app.get('/v1/iac/states/:name', {
      config: { permission },
      schema: {
        operationId: 'getIacState', tags, summary: 'The current state document, exactly as written; ETag `"v<serial>"`',
        params: StateParams, response: { 200: ref(IacStateDocument) },
      },
    }, async (request, reply) => {
      const { json, serial } = await service.getState(deps, requireCtx(request.ctx), request.params.name);
      setEtag(reply, serial);
      return sendDocument(reply, json);
    });

    app.put('/v1/iac/states/:name', {
      config: { permission, ifMatch: true, audit: 'iac_state_written' },
      bodyLimit: STATE_BODY_LIMIT,
      schema: {
        operationId: 'putIacState', tags, summary: 'Write a new version of a state',
        description: [
          'Without If-Match the state must not exist yet; with it, If-Match must name the current serial (`"v<serial>"`), else 412.',
          'The document\'s serial must be greater than the stored one (409 `serial_not_increased`) and its lineage the stored one (409 `lineage_mismatch`).',
          'While the state is locked, only the holder may write: send its lock id as `Coffer-Lock-Id` (else 409 `state_locked`, naming who holds it).',
          'Writing the current version again (same serial, same document) changes nothing, so a retry is safe.',
          `A document over ${STATE_BODY_LIMIT / 1024 / 1024} MiB is refused unread: 413 \`body_too_large\`.`,
        ].join(' '),
        params: StateParams, headers: LockHeader, body: ref(IacStateDocument), response: { 200: ref(IacState), 201: ref(IacState) },
      },
    }, async (request, reply) => {
      const { state, serial, created } = await service.putState(deps, requireCtx(request.ctx), request.params.name, request.body,
        { expected: expectedVersion(request), lockId: lockIdOf(request) });
      setEtag(reply, serial);
      return reply.code(created ? 201 : 200).send(state);
    });

    app.delete('/v1/iac/states/:name', {
      config: { permission, ifMatch: true, audit: 'iac_state_deleted' },
      schema: {
        operationId: 'deleteIacState', tags, summary: 'Delete a state and its history (refused while another run holds its lock)',
        params: StateParams, headers: LockHeader, response: { 204: { type: 'null', description: 'Deleted' } },
      },
    }, async (request, reply) => {
      await service.deleteState(deps, requireCtx(request.ctx), request.params.name, { expected: expectedVersion(request), lockId: lockIdOf(request) });
      return reply.code(204).send(null);
    });

    app.get('/v1/iac/states/:name/versions', {
      config: { permission },
      schema: {
        operationId: 'listIacStateVersions', tags, summary: 'The versions of a state, newest first',
        params: StateParams, querystring: Type.Object({ ...PageQuery }, { additionalProperties: false }), response: { 200: ref(IacStateVersionList) },
      },
    }, async (request) => service.listVersions(deps, requireCtx(request.ctx), request.params.name, pageRequest(request.query)));

    app.get('/v1/iac/states/:name/versions/:serial', {
      config: { permission },
      schema: { operationId: 'getIacStateVersion', tags, summary: 'One earlier version of a state document, exactly as written', params: VersionParams, response: { 200: ref(IacStateDocument) } },
    }, async (request, reply) => {
      const { json, serial } = await service.getVersion(deps, requireCtx(request.ctx), request.params.name, request.params.serial);
      setEtag(reply, serial);
      return sendDocument(reply, json);
    });

    app.post('/v1/iac/states/:name/lock', {
      config: { permission, audit: 'iac_state_locked' },
      schema: {
        operationId: 'lockIacState', tags, summary: 'Lock a state for a run (409 `state_locked` naming the holder when it is taken)',
        params: StateParams, body: ref(IacStateLockCreate), response: { 201: ref(IacStateLock) },
      },
    }, async (request, reply) => {
      const lock = await service.lockState(deps, requireCtx(request.ctx), request.params.name, request.body);
      return reply.code(201).send(lock);
    });

    app.delete('/v1/iac/states/:name/lock', {
      config: { permission, audit: ['iac_state_unlocked', 'iac_state_force_unlocked'] },
      schema: {
        operationId: 'unlockIacState', tags, summary: 'Release a state\'s lock (`force=true`: another user\'s, audited as a force-unlock)',
        params: StateParams, querystring: UnlockQuery, response: { 204: { type: 'null', description: 'Unlocked' } },
      },
    }, async (request, reply) => {
      await service.unlockState(deps, requireCtx(request.ctx), request.params.name, request.query.id, request.query.force ?? false);
      return reply.code(204).send(null);
    });
  };
