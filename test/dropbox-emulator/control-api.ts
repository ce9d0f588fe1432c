// JSON control API under /_emulator/ for out-of-process tests and the standalone emulator.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EmulatorCore } from './call-context.ts';
import type { FaultKind, FaultRule } from './faults.ts';
import { latestRevision, type NamespaceRef, type MemberStatus } from './state.ts';

type Body = Record<string, unknown>;

function reply(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(value));
}

function nsRef(b: Body): NamespaceRef {
  const ref = b.namespace_id ?? b.member_email ?? b.team_member_id ?? b.team_folder;
  if (typeof ref !== 'string') throw new Error('need namespace_id, member_email, team_member_id or team_folder');
  return ref;
}

function faultRule(b: Body): FaultRule {
  return {
    kind: b.kind as FaultKind,
    times: typeof b.times === 'number' ? b.times : 1,
    retryAfter: typeof b.retry_after === 'number' ? b.retry_after : typeof b.retryAfter === 'number' ? b.retryAfter : undefined,
    route: typeof b.route_regex === 'string' ? new RegExp(b.route_regex) : typeof b.route === 'string' ? b.route : undefined,
  };
}

export async function handleControl(core: EmulatorCore, req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse): Promise<void> {
  const { state, counters, faults } = core;
  const key = `${req.method} ${url.pathname.slice('/_emulator'.length)}`;
  let b: Body = Object.fromEntries(url.searchParams);
  try {
    if (body.length) b = { ...b, ...(JSON.parse(body.toString('utf8')) as Body) };
    switch (key) {
      case 'GET /team':
        return reply(res, 200, {
          team: state.team,
          members: state.members,
          team_folders: state.teamFolders,
          namespaces: [...state.namespaces.values()].map((ns) => ({ id: ns.id, type: ns.type, name: ns.name, team_member_id: ns.teamMemberId, entries: ns.tree.entries.size })),
          admin: state.members.find((m) => m.status === 'active' && m.roles.includes('team_admin')) ?? null,
        });
      case 'POST /files': {
        const bytes = Buffer.from(String(b.content_base64 ?? ''), 'base64');
        const e = state.putFile(nsRef(b), String(b.path), bytes, {
          clientModified: typeof b.client_modified === 'string' ? b.client_modified : undefined,
          modifiedBy: typeof b.modified_by === 'string' ? b.modified_by : undefined,
        });
        const r = latestRevision(e);
        return reply(res, 200, { id: e.id, path_display: e.pathDisplay, rev: r.rev, size: r.size, content_hash: r.contentHash });
      }
      case 'GET /files':
        return reply(res, 200, { content_base64: state.readFile(nsRef(b), String(b.path)).toString('base64') });
      case 'DELETE /files':
        state.delete(nsRef(b), String(b.path));
        return reply(res, 200, { deleted: true });
      case 'POST /folders':
        return reply(res, 200, { id: state.mkdir(nsRef(b), String(b.path)).id });
      case 'POST /move':
        return reply(res, 200, { id: state.move(nsRef(b), String(b.from), String(b.to)).id });
      case 'POST /members':
        return reply(res, 200, state.addMember({ email: String(b.email), givenName: b.given_name as string | undefined, surname: b.surname as string | undefined, admin: b.admin === true, status: b.status as MemberStatus | undefined }));
      case 'POST /members/status':
        return reply(res, 200, state.setMemberStatus(String(b.member), b.status as MemberStatus));
      case 'POST /team-folders':
        return reply(res, 200, state.addTeamFolder(String(b.name)));
      case 'POST /team-folders/archive':
        return reply(res, 200, state.archiveTeamFolder(String(b.id)));
      case 'POST /faults': {
        const rules = Array.isArray(b.rules) ? (b.rules as Body[]) : b.kind ? [b] : [];
        for (const r of rules) faults.add(faultRule(r));
        if ('latency_ms' in b) faults.latencyMs = Number(b.latency_ms);
        if ('rate_limit' in b) faults.rateLimit = b.rate_limit === null ? undefined : (b.rate_limit as { perSecond: number });
        if ('data_transport_limit' in b) faults.dataTransportLimit = b.data_transport_limit === null ? undefined : Number(b.data_transport_limit);
        return reply(res, 200, { queued: faults.rules.length, data_transport_limit: faults.dataTransportLimit ?? null });
      }
      case 'DELETE /faults':
        faults.clear();
        return reply(res, 200, { cleared: true });
      case 'GET /counters':
        return reply(res, 200, counters.toJSON());
      case 'POST /reset-counters':
        counters.reset();
        return reply(res, 200, { reset: true });
      case 'POST /tokens':
        return reply(res, 200, state.issueTeamTokens(typeof b.client_id === 'string' ? b.client_id : undefined));
      case 'POST /revoke-refresh-tokens':
        state.revokeRefreshTokens({ accessTokensToo: b.access_tokens_too === true });
        return reply(res, 200, { revoked: true });
      case 'POST /expire-access-tokens':
        state.expireAccessTokens();
        return reply(res, 200, { expired: true });
      case 'POST /invalidate-cursors':
        state.invalidateCursors(typeof b.namespace_id === 'string' ? b.namespace_id : undefined);
        return reply(res, 200, { invalidated: true });
      case 'POST /features':
        if ('upload_api_rate_limit' in b) state.features.uploadApiRateLimit = b.upload_api_rate_limit === 'unlimited' ? 'unlimited' : Number(b.upload_api_rate_limit);
        return reply(res, 200, state.features);
      default:
        return reply(res, 404, { error: `unknown control endpoint ${key}` });
    }
  } catch (e) {
    reply(res, 400, { error: (e as Error).message });
  }
}
