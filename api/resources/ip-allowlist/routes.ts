import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { pageRequest } from '../../pagination.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import {
  IpAllowlist, IpAllowlistEntry, IpAllowlistEntryCreate, IpAllowlistEntryList, IpAllowlistEntryListQuery, IpAllowlistEntryUpdate, IpAllowlistUpdate,
} from './schemas.ts';
import * as service from './service.ts';

const tags = ['ip-allowlist'];
const Params = IdParam('ipr');

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/ip-allowlist', {
      config: { permission: 'security:manage' },
      schema: { operationId: 'getIpAllowlist', tags, summary: 'Get the IP restrictions switch and your address', response: { 200: ref(IpAllowlist) } },
    }, async (request, reply) => {
      const { allowlist, version } = await service.getAllowlist(deps, requireCtx(request.ctx));
      setEtag(reply, version);
      return allowlist;
    });

    app.patch('/v1/ip-allowlist', {
      config: { permission: 'security:manage', ifMatch: true, audit: 'ip_allowlist_changed' },
      schema: {
        operationId: 'updateIpAllowlist', tags, summary: 'Enable or disable IP restrictions',
        description: 'Enabling is refused (409 `would_lock_out`) when your own address is not in the list. Administrators are emailed about every change.',
        body: ref(IpAllowlistUpdate), response: { 200: ref(IpAllowlist) },
      },
    }, async (request, reply) => {
      const { allowlist, version } = await service.setAllowlistEnabled(deps, requireCtx(request.ctx), request.body.enabled, expectedVersion(request));
      setEtag(reply, version);
      return allowlist;
    });

    app.get('/v1/ip-allowlist/entries', {
      config: { permission: 'security:manage' },
      schema: { operationId: 'listIpAllowlistEntries', tags, summary: 'List trusted addresses', querystring: IpAllowlistEntryListQuery, response: { 200: ref(IpAllowlistEntryList) } },
    }, async (request) => service.listEntries(deps, requireCtx(request.ctx), pageRequest(request.query)));

    app.post('/v1/ip-allowlist/entries', {
      config: { permission: 'security:manage', audit: 'ip_allowlist_changed' },
      schema: {
        operationId: 'createIpAllowlistEntry', tags, summary: 'Add trusted addresses',
        description: 'One or more addresses, an inclusive range, or a CIDR block; IPv4 or IPv6.',
        body: ref(IpAllowlistEntryCreate), response: { 201: ref(IpAllowlistEntry) },
      },
    }, async (request, reply) => {
      const { entry, version } = await service.createEntry(deps, requireCtx(request.ctx), request.body);
      setEtag(reply, version);
      return reply.code(201).header('location', `/v1/ip-allowlist/entries/${entry.id}`).send(entry);
    });

    app.get('/v1/ip-allowlist/entries/:id', {
      config: { permission: 'security:manage' },
      schema: { operationId: 'getIpAllowlistEntry', tags, summary: 'Get a trusted-address entry', params: Params, response: { 200: ref(IpAllowlistEntry) } },
    }, async (request, reply) => {
      const { entry, version } = await service.getEntry(deps, requireCtx(request.ctx), request.params.id);
      setEtag(reply, version);
      return entry;
    });

    app.patch('/v1/ip-allowlist/entries/:id', {
      config: { permission: 'security:manage', ifMatch: true, audit: 'ip_allowlist_changed' },
      schema: {
        operationId: 'updateIpAllowlistEntry', tags, summary: 'Change a trusted-address entry',
        description: 'While IP restrictions are on, a change that leaves your own address outside is refused (409 `would_lock_out`).',
        params: Params, body: ref(IpAllowlistEntryUpdate), response: { 200: ref(IpAllowlistEntry) },
      },
    }, async (request, reply) => {
      const { entry, version } = await service.updateEntry(deps, requireCtx(request.ctx), request.params.id, request.body, expectedVersion(request));
      setEtag(reply, version);
      return entry;
    });

    app.delete('/v1/ip-allowlist/entries/:id', {
      config: { permission: 'security:manage', ifMatch: true, audit: 'ip_allowlist_changed' },
      schema: {
        operationId: 'deleteIpAllowlistEntry', tags, summary: 'Remove a trusted-address entry',
        description: 'While IP restrictions are on, removing the entry that trusts your own address is refused (409 `would_lock_out`).',
        params: Params, response: { 204: { type: 'null' } },
      },
    }, async (request, reply) => {
      await service.deleteEntry(deps, requireCtx(request.ctx), request.params.id, expectedVersion(request));
      return reply.code(204).send(null);
    });
  };
