import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { requireCtx } from '../../context.ts';
import { expectedVersion, setEtag } from '../../etag.ts';
import { ref } from '../../schemas/common.ts';
import { Session } from '../sessions/schemas.ts';
import { AccountIdParam, ACS_BODY_LIMIT, SamlAcsForm, SamlLoginQuery, SamlSettings, SamlSettingsUpdate, SamlTwoFactor } from './schemas.ts';
import { completeSecondFactor } from './second-factor.ts';
import * as service from './service.ts';

const tags = ['saml'];

/** A problem response this operation answers beyond the ones every route documents. */
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: Type.Ref('Problem') } } });

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    // The identity provider posts the response as an HTML form (HTTP-POST binding). Scoped to this plugin.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: ACS_BODY_LIMIT }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    app.get('/v1/security/saml', {
      config: { permission: 'security:manage' },
      schema: { operationId: 'getSamlSettings', tags, summary: 'Get the SAML single sign-on settings', response: { 200: ref(SamlSettings) } },
    }, async (request, reply) => {
      const { settings, version } = await service.getSettings(deps, requireCtx(request.ctx));
      setEtag(reply, version);
      return settings;
    });

    app.put('/v1/security/saml', {
      config: { permission: 'security:manage', ifMatch: true, audit: 'settings_changed' },
      schema: {
        operationId: 'updateSamlSettings', tags, summary: 'Configure, activate or deactivate SAML single sign-on',
        description: [
          'Give the identity provider by `metadata_url` (fetched once, server-side: https only, public addresses only, no redirects, 5 s, 1 MiB; 400 `metadata_url_forbidden` / `metadata_fetch_failed`) or by uploaded `metadata_xml`;',
          'the entity id, the HTTP-Redirect single sign-on URL and the signing certificates are read from it (400 `invalid_metadata`).',
          'Only an administrator may change it (403 `administrator_required`), and only with a fresh proof of who they are (step-up), whether the request comes with a session or an API key:',
          '`totp_code` when the caller has two-factor authentication, else `current_password` (403 `step_up_required` without it, `step_up_failed` when wrong; failures are audited).',
          'Activating (`enabled: true`) needs `confirm: true` (400 `confirmation_required`) and disables email & password sign-in: POST /v1/sessions then answers 403 `saml_required`; API keys keep working.',
          'Users with two-factor authentication still enter a TOTP code after the identity provider unless `idp_performs_mfa` is true.',
          'Accepts If-Match with the ETag of GET /v1/security/saml. Audited.',
        ].join(' '),
        body: ref(SamlSettingsUpdate), response: { 200: ref(SamlSettings), 412: problem('If-Match does not name the current version of the SAML settings.') },
      },
    }, async (request, reply) => {
      const { settings, version } = await service.updateSettings(deps, requireCtx(request.ctx), request.body, expectedVersion(request));
      setEtag(reply, version);
      return settings;
    });

    app.get('/v1/saml/:account_id/metadata', {
      config: { public: true },
      schema: {
        operationId: 'getSamlServiceProviderMetadata', tags, summary: 'Coffer\'s SAML service-provider metadata for an account',
        description: 'Upload it to the identity provider (or copy the entity id and ACS URL from it). Its URL is also the SP entity id, the audience assertions must name.',
        params: AccountIdParam,
        response: { 200: { description: 'OK', content: { 'application/samlmetadata+xml': { schema: Type.String() } } } },
      },
    }, async (request, reply) => {
      const xml = await service.spMetadata(deps, request.params.account_id);
      return reply.type('application/samlmetadata+xml; charset=utf-8').send(xml);
    });

    app.get('/v1/saml/:account_id/login', {
      config: { public: true },
      schema: {
        operationId: 'startSamlSignIn', tags, summary: 'SP-initiated SAML sign-in: redirect to the identity provider',
        description: 'Answers 302 to the identity provider\'s single sign-on URL with a deflated AuthnRequest (HTTP-Redirect binding). The request id is remembered for 10 minutes; the response must answer it. 409 `saml_not_enabled` when SAML is not active.',
        params: AccountIdParam, querystring: SamlLoginQuery,
        response: {
          302: { description: 'Found: continue at the identity provider', headers: { location: Type.String({ description: 'The identity provider URL with SAMLRequest (and RelayState).' }) } },
          409: problem('`saml_not_enabled`: the account does not sign in with SAML.'),
        },
      },
    }, async (request, reply) => {
      const location = await service.loginUrl(deps, request.params.account_id, request.query.relay_state);
      return reply.code(302).header('location', location).header('cache-control', 'no-store').send();
    });

    app.post('/v1/saml/:account_id/acs', {
      config: { public: true, audit: ['sign_in', 'sign_in_failed'] },
      bodyLimit: ACS_BODY_LIMIT,
      schema: {
        operationId: 'consumeSamlResponse', tags, summary: 'Assertion consumer service: sign in with the identity provider\'s SAML response',
        description: [
          'The identity provider posts `SAMLResponse` (application/x-www-form-urlencoded). The assertion must be signed by a certificate from the metadata,',
          'name this account\'s entity id as audience, be inside NotBefore / NotOnOrAfter (60 s of skew), answer a request from GET …/login (InResponseTo) and never have been used before.',
          'The NameID (or the `email` attribute) must be the email of an active user of the account. Answers a session token, like POST /v1/sessions,',
          'except for a user with two-factor authentication when the identity provider is not trusted for MFA (`idp_performs_mfa`): 401 `totp_required` with a `two_factor_token` for POST /v1/saml/{account_id}/two-factor;',
          'when the account enforces 2FA and the user has none: 403 `two_factor_setup_required`.',
          'Failures are 401 with `saml_invalid_signature`, `saml_expired`, `saml_not_yet_valid`, `saml_wrong_audience`, `saml_wrong_issuer`, `saml_wrong_recipient`, `saml_invalid_in_response_to`, `saml_replayed`, `saml_unknown_user`, `user_inactive`, `saml_invalid_response`;',
          '409 `saml_not_enabled`; 403 `access_denied` outside an enabled IP allowlist. Every success and failure is audited.',
          'A body over 256 KiB is refused unread: 413 `body_too_large`.',
        ].join(' '),
        consumes: ['application/x-www-form-urlencoded'],
        params: AccountIdParam, body: ref(SamlAcsForm),
        response: {
          201: ref(Session),
          401: problem('The SAML response was refused; `code` says why (see the description).'),
          403: problem('`access_denied`: the client address is outside the account\'s enabled IP allowlist; `two_factor_setup_required`.'),
          409: problem('`saml_not_enabled`: the account does not sign in with SAML.'),
        },
      },
    }, async (request, reply) => {
      const session = await service.consumeResponse(deps, request.params.account_id, request.body, { ip: request.ip, userAgent: request.headers['user-agent'] });
      return reply.code(201).header('cache-control', 'no-store').send(session);
    });

    app.post('/v1/saml/:account_id/two-factor', {
      config: { public: true, audit: ['sign_in', 'sign_in_failed'] },
      schema: {
        operationId: 'completeSamlTwoFactor', tags, summary: 'Finish a SAML sign-in with a TOTP code',
        description: [
          'After the ACS answered 401 `totp_required`: the `two_factor_token` from that answer (valid 5 minutes, three attempts, one session) and the current TOTP code.',
          'Answers the session token. 401 `invalid_two_factor_token` (unknown, expired or used up: sign in through the identity provider again), `invalid_totp_code`, `totp_code_reused`, `user_inactive`; 403 `access_denied` outside an enabled IP allowlist. Audited.',
        ].join(' '),
        params: AccountIdParam, body: ref(SamlTwoFactor),
        response: { 201: ref(Session), 401: problem('The token or the code was refused; `code` says why.') },
      },
    }, async (request, reply) => {
      const session = await completeSecondFactor(deps, request.params.account_id, request.body, { ip: request.ip, userAgent: request.headers['user-agent'] });
      return reply.code(201).header('cache-control', 'no-store').send(session);
    });
  };
