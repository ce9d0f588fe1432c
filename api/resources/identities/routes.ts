import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { IdParam, ref } from '../../schemas/common.ts';
import { pageRequest } from '../../pagination.ts';
import { Session } from '../sessions/schemas.ts';
import { IdentityLinkCreate, IdentityLinkStart, IdentityList, IdentityListQuery, OidcCallbackQuery, OidcCallbackResult, OidcTwoFactor, ProviderParam } from './schemas.ts';
import { REQUEST_TTL_MS } from './service.ts';
import * as service from './service.ts';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Type.Ref('Problem') } } });

/** Holds the state of the sign-in this browser started; the callback signs in only where it is. */
export const STATE_COOKIE = 'coffer_oidc_state';
const COOKIE_PATH = '/v1/oidc';

function browserState(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === STATE_COOKIE) return part.slice(i + 1).trim();
  }
  return undefined;
}

const meta = (request: FastifyRequest) => ({ ip: request.ip, userAgent: request.headers['user-agent'] });

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    app.get('/v1/oidc/:provider/login', {
      config: { public: true },
      schema: {
        operationId: 'startOidcSignIn', tags: ['sessions'], summary: 'Sign in with Google or Microsoft: redirect to the provider',
        description: [
          'Answers 302 to the provider\'s authorization endpoint (OpenID Connect authorization code flow with PKCE S256, `state` and `nonce`), and a cookie that binds the sign-in to this browser.',
          'The provider sends the browser back to GET /v1/oidc/{provider}/callback within 10 minutes.',
          '404 `oidc_provider_not_configured` when the installation has no client for the provider; 503 `oidc_provider_unavailable` when its discovery document cannot be read.',
        ].join(' '),
        params: ProviderParam,
        response: {
          302: { description: 'Found: continue at the provider', headers: { location: Type.String({ description: 'The provider\'s authorization URL.' }) } },
          503: problem('`oidc_provider_unavailable`: the provider\'s discovery document could not be read.'),
        },
      },
    }, async (request, reply) => {
      const { url, state } = await service.startSignIn(deps, request.params.provider);
      const secure = deps.config.publicUrl.startsWith('https:') ? '; Secure' : '';
      return reply.code(302)
        .header('set-cookie', `${STATE_COOKIE}=${state}; Path=${COOKIE_PATH}; Max-Age=${REQUEST_TTL_MS / 1000}; HttpOnly; SameSite=Lax${secure}`)
        .header('location', url).header('cache-control', 'no-store').send();
    });

    app.get('/v1/oidc/:provider/callback', {
      config: { public: true },
      schema: {
        operationId: 'completeOidcCallback', tags: ['sessions'], summary: 'The provider\'s redirect back: sign in, or link the identity',
        description: [
          'The redirect URI to register at the provider: `$COFFER_PUBLIC_URL/v1/oidc/{provider}/callback`. The code is exchanged with the PKCE verifier; the ID token\'s signature, issuer, audience, expiry and nonce are checked.',
          'A sign-in (started by GET …/login, in this browser) answers a session for the user the identity (issuer + subject) is linked to — never found by email — like POST /v1/sessions;',
          'a link (started by POST /v1/me/identities) answers the linked identity. Audited.',
          '401: `oidc_invalid_state` (unknown, used or expired request: a replayed callback), `oidc_browser_mismatch` (started in another browser), `oidc_code_rejected`, `oidc_invalid_nonce`, `oidc_invalid_response`, `oidc_provider_error`,',
          '`identity_not_linked`, `user_inactive`, `totp_required` (with a `two_factor_token` for POST /v1/oidc/two-factor);',
          '403: `saml_required` (the account signs in with SAML), `access_denied` (IP allowlist), `two_factor_setup_required`, `identity_email_mismatch` (a link answered by an identity whose email is not the user\'s);',
          '409 `identity_already_linked`.',
        ].join(' '),
        params: ProviderParam, querystring: OidcCallbackQuery,
        response: {
          200: ref(OidcCallbackResult),
          401: problem('The answer was refused; `code` says why (see the description).'),
          403: problem('`saml_required`, `access_denied`, `two_factor_setup_required`, `identity_email_mismatch`.'),
          409: problem('`identity_already_linked`: the identity belongs to another Coffer user.'),
        },
      },
    }, async (request, reply) => {
      const q = request.query;
      const rawQuery = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
      const result = await service.callback(deps, request.params.provider, {
        rawQuery, state: q.state, error: q.error, errorDescription: q.error_description, browserState: browserState(request), meta: meta(request),
      });
      return reply.header('cache-control', 'no-store')
        .header('set-cookie', `${STATE_COOKIE}=; Path=${COOKIE_PATH}; Max-Age=0; HttpOnly; SameSite=Lax`)
        .send(result);
    });

    app.post('/v1/oidc/two-factor', {
      config: { public: true, audit: ['sign_in', 'sign_in_failed'] },
      schema: {
        operationId: 'completeOidcTwoFactor', tags: ['sessions'], summary: 'Finish a Google / Microsoft sign-in with a TOTP code',
        description: 'After the callback answered 401 `totp_required`: its `two_factor_token` (5 minutes, three attempts, one session) and the current TOTP code. 401 `invalid_two_factor_token`, `invalid_totp_code`, `totp_code_reused`, `user_inactive`; 403 `access_denied`. Audited.',
        body: ref(OidcTwoFactor),
        response: { 201: ref(Session), 401: problem('The token or the code was refused; `code` says why.') },
      },
    }, async (request, reply) => {
      const session = await service.completeSecondFactor(deps, request.body, meta(request));
      return reply.code(201).header('cache-control', 'no-store').send(session);
    });

    app.get('/v1/me/identities', {
      schema: {
        operationId: 'listIdentities', tags: ['me'], summary: 'Your linked Google / Microsoft identities',
        querystring: IdentityListQuery, response: { 200: ref(IdentityList) },
      },
    }, async (request) => service.listIdentities(deps, requireCtx(request.ctx), pageRequest(request.query)));

    app.post('/v1/me/identities', {
      schema: {
        operationId: 'startIdentityLink', tags: ['me'], summary: 'Link a Google / Microsoft identity to you',
        description: [
          'Answers the provider\'s `authorize_url`: open it in your browser within 10 minutes; the provider sends it back to GET /v1/oidc/{provider}/callback, which links the identity that signed in there.',
          'Only an identity whose email is yours is linked (403 `identity_email_mismatch`); one identity signs in one Coffer user (409 `identity_already_linked`).',
          'From then on "Sign in with …" (GET /v1/oidc/{provider}/login) signs you in. 404 `oidc_provider_not_configured`.',
        ].join(' '),
        body: ref(IdentityLinkCreate), response: { 201: ref(IdentityLinkStart) },
      },
    }, async (request, reply) => reply.code(201).send(await service.startLink(deps, requireCtx(request.ctx), request.body.provider)));

    app.delete('/v1/me/identities/:id', {
      config: { audit: 'identity_unlinked' },
      schema: {
        operationId: 'unlinkIdentity', tags: ['me'], summary: 'Unlink one of your identities',
        description: 'It no longer signs you in. Audited.',
        params: IdParam('idn'), response: { 204: { type: 'null', description: 'Unlinked' } },
      },
    }, async (request, reply) => {
      await service.unlinkIdentity(deps, requireCtx(request.ctx), request.params.id);
      return reply.code(204).send(null);
    });
  };

