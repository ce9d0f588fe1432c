// SAML single sign-on (seed 5.4.3, Okta). The account configures its identity provider by metadata
// (URL fetched server-side, or uploaded XML); activating it needs `confirm: true` and turns password
// sign-in off (api/resources/sessions refuses with `saml_required`). Sign-in is SP-initiated only:
// GET …/login sends the browser to the IdP with an AuthnRequest whose id is stored; POST …/acs
// takes the IdP's signed response, which @node-saml/node-saml checks (signature with the IdP's
// certificates, audience, NotBefore/NotOnOrAfter, InResponseTo against the stored request ids), and
// Coffer then checks the issuer, the recipient, the time window on its own clock, and that the
// assertion id was never accepted before. A matching active user gets a session token from the
// sessions module. Every ACS success and failure is audited.
import { SAML, ValidateInResponseTo, generateServiceProviderMetadata, type CacheProvider, type Profile } from '@node-saml/node-saml';
import { DOMParser } from '@xmldom/xmldom';
import { and, eq, gt, lte, sql } from 'drizzle-orm';
import type { AppDeps } from '../../deps.ts';
import type { RequestContext } from '../../context.ts';
import { accounts, samlAssertions, samlConfigs, samlRequests, users } from '../../../db/schema.ts';
import { ApiError, conflict, invalidField, notFound, preconditionFailed } from '../../errors.ts';
import { audit } from '../audit/service.ts';
import { beforeAfter } from '../audit/changes.ts';
import { accountSecurityOf, userSecurityOf } from '../security/service.ts';
import { assertClientAllowed } from '../ip-allowlist/service.ts';
import { verifyStepUp } from '../security/step-up.ts';
import { assertAdministrator } from '../users/guard.ts';
import { startSession, type Meta } from '../sessions/service.ts';
import type { Session } from '../sessions/schemas.ts';
import { certificateInfo, fetchMetadata, parseIdpMetadata, toPem } from './metadata.ts';
import { spUrls } from './state.ts';
import { secondFactorRequired } from './second-factor.ts';
import type { SamlAcsForm, SamlSettings, SamlSettingsUpdate } from './schemas.ts';
import { checkVersion } from '../../etag.ts';

export { samlEnabled, spUrls } from './state.ts';

type Row = typeof samlConfigs.$inferSelect;

/** How long an AuthnRequest may be answered. */
export const REQUEST_TTL_MS = 10 * 60_000;
/** Tolerated clock difference with the identity provider. */
export const CLOCK_SKEW_MS = 60_000;
/** Accepted assertion ids are remembered at least this long (longer when the assertion says so). */
export const ASSERTION_MEMORY_MS = 24 * 3600_000;
const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';

function serialize(deps: AppDeps, accountId: string, row: Row | undefined): SamlSettings {
  const urls = spUrls(deps, accountId);
  return {
    provider: 'okta',
    configured: Boolean(row),
    enabled: row?.enabled ?? false,
    sign_in_method: row?.enabled ? 'saml' : 'password',
    metadata_source: row ? (row.metadataUrl ? 'url' : 'upload') : null,
    metadata_url: row?.metadataUrl ?? null,
    idp_entity_id: row?.idpEntityId ?? null,
    idp_sso_url: row?.idpSsoUrl ?? null,
    idp_certificates: (row?.idpCertificates ?? []).map(certificateInfo),
    sp_entity_id: urls.entityId,
    sp_acs_url: urls.acsUrl,
    sp_metadata_url: urls.metadataUrl,
    sp_login_url: urls.loginUrl,
    idp_performs_mfa: row?.idpPerformsMfa ?? false,
    activated_at: row?.activatedAt?.toISOString() ?? null,
    updated_at: row?.updatedAt.toISOString() ?? null,
  };
}

async function configOf(deps: AppDeps, accountId: string): Promise<Row | undefined> {
  const [row] = await deps.db.select().from(samlConfigs).where(eq(samlConfigs.accountId, accountId));
  return row;
}

export async function getSettings(deps: AppDeps, ctx: RequestContext) {
  const row = await configOf(deps, ctx.accountId);
  return { settings: serialize(deps, ctx.accountId, row), version: row?.version ?? 0 };
}

export async function updateSettings(deps: AppDeps, ctx: RequestContext, input: SamlSettingsUpdate, expected: number | undefined) {
  // Whoever sets the identity provider can sign in as anyone, administrators included.
  assertAdministrator(ctx, 'change the SAML settings');
  const current = await configOf(deps, ctx.accountId);
  const currentVersion = current?.version ?? 0;
  checkVersion(expected, currentVersion, 'The SAML configuration');
  if (input.metadata_url !== undefined && input.metadata_xml !== undefined) {
    throw invalidField('/body/metadata_xml', 'give `metadata_url` or `metadata_xml`, not both');
  }
  const activating = input.enabled && !current?.enabled;
  if (activating && input.confirm !== true) {
    throw new ApiError(400, 'confirmation_required', 'Bad Request',
      'Activating SAML disables email & password sign-in for every user of the account: make sure every user exists in the identity provider, then send `confirm: true`.',
      { errors: [{ pointer: '/body/confirm', detail: 'must be true to activate SAML' }] });
  }

  if (input.metadata_xml === undefined && input.metadata_url === undefined && !current) {
    throw invalidField('/body/metadata_url', 'the identity provider is not configured yet: give `metadata_url` or `metadata_xml`');
  }
  // Checked before anything is fetched: without the proof, the request causes nothing.
  const factor = await verifyStepUp(deps, ctx, input, 'change the SAML settings');

  let metadata: { xml: string; url: string | null } | null = null;
  if (input.metadata_xml !== undefined) metadata = { xml: input.metadata_xml, url: null };
  else if (input.metadata_url !== undefined) {
    metadata = { xml: await fetchMetadata(input.metadata_url, { trustedHosts: deps.config.samlMetadataTrustedHosts ?? [] }), url: input.metadata_url };
  }
  const parsed = metadata ? parseIdpMetadata(metadata.xml) : null;

  const now = deps.clock.now();
  return deps.db.transaction(async (tx) => {
    const values = {
      ...(input.provider ? { provider: input.provider } : {}),
      ...(metadata && parsed
        ? { metadataUrl: metadata.url, metadataXml: metadata.xml, idpEntityId: parsed.entityId, idpSsoUrl: parsed.ssoUrl, idpCertificates: parsed.certificates }
        : {}),
      enabled: input.enabled,
      ...(input.idp_performs_mfa !== undefined ? { idpPerformsMfa: input.idp_performs_mfa } : {}),
      activatedAt: input.enabled ? (activating ? now : current?.activatedAt ?? now) : null,
      updatedAt: now,
    };
    let row: Row | undefined;
    if (current) {
      [row] = await tx
        .update(samlConfigs)
        .set({ ...values, version: sql`${samlConfigs.version} + 1` })
        .where(and(eq(samlConfigs.accountId, ctx.accountId), eq(samlConfigs.version, current.version)))
        .returning();
    } else {
      [row] = await tx
        .insert(samlConfigs)
        .values({ accountId: ctx.accountId, metadataUrl: metadata!.url, metadataXml: metadata!.xml, idpEntityId: parsed!.entityId, idpSsoUrl: parsed!.ssoUrl, idpCertificates: parsed!.certificates, enabled: input.enabled, idpPerformsMfa: input.idp_performs_mfa ?? false, activatedAt: values.activatedAt, createdAt: now, updatedAt: now })
        .onConflictDoNothing()
        .returning();
    }
    if (!row) throw preconditionFailed('The SAML settings changed while this request ran; fetch them again.');
    const changes: string[] = [];
    if (parsed) changes.push(`identity provider ${parsed.entityId} (${metadata!.url ? `metadata from ${metadata!.url}` : 'uploaded metadata'})`);
    if (activating) changes.push('SAML activated: email & password sign-in disabled');
    if (row.idpPerformsMfa !== (current?.idpPerformsMfa ?? false)) {
      changes.push(row.idpPerformsMfa ? 'the identity provider is trusted for two-factor authentication' : 'users with two-factor authentication enter their code after SAML sign-in');
    }
    else if (current?.enabled && !input.enabled) changes.push('SAML deactivated: email & password sign-in restored');
    await audit(deps, ctx, {
      type: 'settings_changed',
      description: `SAML single sign-on: ${changes.length ? changes.join('; ') : 'saved without changes'}`,
      details: { saml: { enabled: row.enabled, idp_entity_id: row.idpEntityId, metadata_url: row.metadataUrl, idp_performs_mfa: row.idpPerformsMfa, before_enabled: current?.enabled ?? false }, confirmed_with: factor, ...beforeAfter(serialize(deps, ctx.accountId, current), serialize(deps, ctx.accountId, row)) },
    }, tx);
    return { settings: serialize(deps, ctx.accountId, row), version: row.version };
  });
}

async function accountExists(deps: AppDeps, accountId: string) {
  const [row] = await deps.db.select({ id: accounts.id }).from(accounts).where(eq(accounts.id, accountId));
  if (!row) throw notFound('Account', accountId);
}

/** Coffer's SP metadata for the account: what the identity provider needs (entity id, ACS URL). */
export async function spMetadata(deps: AppDeps, accountId: string): Promise<string> {
  await accountExists(deps, accountId);
  const urls = spUrls(deps, accountId);
  return generateServiceProviderMetadata({ issuer: urls.entityId, callbackUrl: urls.acsUrl, wantAssertionsSigned: true, identifierFormat: EMAIL_FORMAT });
}

/** AuthnRequest ids live in the database, so any API process can check the response to a request another one sent. */
function requestCache(deps: AppDeps, accountId: string): CacheProvider {
  return {
    async saveAsync(key, _value) {
      const now = deps.clock.now();
      await deps.db.insert(samlRequests).values({ id: key, accountId, createdAt: now, expiresAt: new Date(now.getTime() + REQUEST_TTL_MS) }).onConflictDoNothing();
      return { value: now.toISOString(), createdAt: now.getTime() };
    },
    async getAsync(key) {
      const [row] = await deps.db
        .select({ createdAt: samlRequests.createdAt })
        .from(samlRequests)
        .where(and(eq(samlRequests.accountId, accountId), eq(samlRequests.id, key), gt(samlRequests.expiresAt, deps.clock.now())));
      return row ? row.createdAt.toISOString() : null;
    },
    async removeAsync(key) {
      if (!key) return null;
      const [row] = await deps.db.delete(samlRequests).where(and(eq(samlRequests.accountId, accountId), eq(samlRequests.id, key))).returning({ id: samlRequests.id });
      return row ? row.id : null;
    },
  };
}

function samlFor(deps: AppDeps, accountId: string, row: Row): SAML {
  const urls = spUrls(deps, accountId);
  return new SAML({
    callbackUrl: urls.acsUrl,
    entryPoint: row.idpSsoUrl,
    issuer: urls.entityId,
    audience: urls.entityId,
    idpIssuer: row.idpEntityId,
    idpCert: row.idpCertificates.map(toPem),
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    validateInResponseTo: ValidateInResponseTo.always,
    requestIdExpirationPeriodMs: REQUEST_TTL_MS,
    cacheProvider: requestCache(deps, accountId),
    acceptedClockSkewMs: CLOCK_SKEW_MS,
    identifierFormat: EMAIL_FORMAT,
    disableRequestedAuthnContext: true,
  });
}

async function enabledConfig(deps: AppDeps, accountId: string): Promise<Row> {
  await accountExists(deps, accountId);
  const row = await configOf(deps, accountId);
  if (!row?.enabled) throw conflict('saml_not_enabled', 'This account does not sign in with SAML; use POST /v1/sessions.');
  return row;
}

/** SP-initiated sign-in: the identity provider's URL carrying a deflated, stored AuthnRequest. */
export async function loginUrl(deps: AppDeps, accountId: string, relayState: string | undefined): Promise<string> {
  const row = await enabledConfig(deps, accountId);
  return samlFor(deps, accountId, row).getAuthorizeUrlAsync(relayState ?? '', undefined, {});
}

/** Maps the SAML library's findings (and Coffer's own) to stable problem codes. */
function classify(message: string): { code: string; detail: string } {
  const m = message.toLowerCase();
  if (m.includes('signature')) return { code: 'saml_invalid_signature', detail: 'The SAML response is not signed by the configured identity provider, or was changed after it was signed.' };
  if (m.includes('expired') || m.includes('no valid subject confirmation')) return { code: 'saml_expired', detail: 'The SAML assertion has expired (NotOnOrAfter is past); sign in again.' };
  if (m.includes('not yet valid')) return { code: 'saml_not_yet_valid', detail: 'The SAML assertion is not valid yet (NotBefore is in the future); check the identity provider\'s clock.' };
  if (m.includes('audience')) return { code: 'saml_wrong_audience', detail: 'The SAML assertion is meant for another service provider (its Audience is not this account\'s entity id).' };
  if (m.includes('inresponseto')) return { code: 'saml_invalid_in_response_to', detail: 'The SAML response does not answer a sign-in this account started, or answers it a second time: start again from the login URL.' };
  if (m.includes('issuer')) return { code: 'saml_wrong_issuer', detail: 'The SAML response comes from another identity provider than the configured one.' };
  if (m.includes('saml provider returned')) return { code: 'saml_idp_error', detail: `The identity provider refused the sign-in: ${message}` };
  return { code: 'saml_invalid_response', detail: `The SAML response is not acceptable: ${message}` };
}

function first(node: unknown, ...path: string[]): any {
  let cur: any = node;
  for (const key of path) {
    cur = Array.isArray(cur) ? cur[0] : cur;
    cur = cur?.[key];
  }
  return Array.isArray(cur) ? cur[0] : cur;
}

const PROTOCOL_NS = 'urn:oasis:names:tc:SAML:2.0:protocol';
const ASSERTION_NS = 'urn:oasis:names:tc:SAML:2.0:assertion';

type Doc = { documentElement: { localName: string; namespaceURI: string | null } | null; getElementsByTagNameNS(ns: string, name: string): ArrayLike<{ getAttribute(n: string): string | null }> };

/**
 * The decoded response as a DOM, or null when it is not a well-formed SAML Response. Parsed once,
 * linearly: a regular expression over an unauthenticated body is a denial-of-service waiting for
 * a hostile input (nested lazy quantifiers go quadratic).
 */
function parseResponse(decoded: string): Doc | null {
  if (/<!DOCTYPE/i.test(decoded)) return null;
  let failed = false;
  let doc: Doc;
  try {
    doc = new DOMParser({ errorHandler: { warning: () => {}, error: () => { failed = true; }, fatalError: () => { failed = true; } } }).parseFromString(decoded, 'text/xml') as unknown as Doc;
  } catch {
    return null;
  }
  const root = doc.documentElement;
  if (failed || root?.localName !== 'Response' || root.namespaceURI !== PROTOCOL_NS) return null;
  return doc;
}

/** The assertion id read without verification: used only to explain a rejection as a replay. */
function unverifiedAssertionId(doc: Doc): string | null {
  const id = doc.getElementsByTagNameNS(ASSERTION_NS, 'Assertion')[0]?.getAttribute('ID');
  return id && id.length <= 256 ? id : null;
}

/** Assertion consumer service: validates the IdP's response and starts a session for its user. */
export async function consumeResponse(deps: AppDeps, accountId: string, form: SamlAcsForm, meta: Meta): Promise<Session> {
  await accountExists(deps, accountId);
  const failed = async (reason: string, code: string, subject: string | null, status = 401, detail?: string): Promise<never> => {
    await audit(deps, accountId, {
      type: 'sign_in_failed', status: 'failed', task: subject,
      description: `SAML sign in (failed: ${reason}) from ip-${meta.ip}`,
      performedBy: null, ip: meta.ip, userAgent: meta.userAgent ?? null, details: { method: 'saml', code, reason },
    });
    throw new ApiError(status, code, status === 401 ? 'Unauthorized' : status === 403 ? 'Forbidden' : 'Conflict', detail ?? reason);
  };

  const row = await configOf(deps, accountId);
  if (!row?.enabled) {
    return failed('SAML is not enabled for this account', 'saml_not_enabled', null, 409, 'This account does not sign in with SAML; use POST /v1/sessions.');
  }

  const doc = parseResponse(Buffer.from(form.SAMLResponse, 'base64').toString('utf8'));
  if (!doc) {
    return failed('not a SAML Response document', 'saml_invalid_response', null, 401, 'The SAMLResponse field does not hold a base64-encoded SAML Response.');
  }

  let profile: Profile;
  try {
    const result = await samlFor(deps, accountId, row).validatePostResponseAsync({ SAMLResponse: form.SAMLResponse });
    if (!result.profile) throw new Error('the response carries no assertion');
    profile = result.profile;
  } catch (err) {
    const message = (err as Error).message ?? String(err);
    let { code, detail } = classify(message);
    if (code === 'saml_invalid_in_response_to') {
      const id = unverifiedAssertionId(doc);
      const [seen] = id ? await deps.db.select({ id: samlAssertions.assertionId }).from(samlAssertions).where(and(eq(samlAssertions.accountId, accountId), eq(samlAssertions.assertionId, id))) : [];
      if (seen) ({ code, detail } = { code: 'saml_replayed', detail: 'This SAML assertion was already used to sign in; an assertion is accepted only once.' });
    }
    return failed(message, code, null, 401, detail);
  }

  const subject = profile.nameID ?? null;
  const assertion = (profile.getAssertion?.() as { Assertion?: unknown } | undefined)?.Assertion;
  const assertionId: string | undefined = first(assertion, '$')?.ID;
  if (!assertionId) return failed('the assertion has no ID', 'saml_invalid_response', subject);
  if (profile.issuer !== row.idpEntityId) {
    return failed(`issuer ${profile.issuer} is not ${row.idpEntityId}`, 'saml_wrong_issuer', subject, 401, classify('issuer').detail);
  }
  const confirmation = first(assertion, 'Subject', 'SubjectConfirmation', 'SubjectConfirmationData', '$') as Record<string, string> | undefined;
  const urls = spUrls(deps, accountId);
  if (confirmation?.Recipient && confirmation.Recipient !== urls.acsUrl) {
    return failed(`recipient ${confirmation.Recipient} is not ${urls.acsUrl}`, 'saml_wrong_recipient', subject, 401, 'The SAML assertion is addressed to another assertion consumer service URL.');
  }
  // The time window again, on Coffer's clock (the library checks it on the machine's).
  const now = deps.clock.now().getTime();
  const conditions = first(assertion, 'Conditions', '$') as Record<string, string> | undefined;
  const notBefore = conditions?.NotBefore ? Date.parse(conditions.NotBefore) : null;
  const notOnOrAfter = [conditions?.NotOnOrAfter, confirmation?.NotOnOrAfter].filter(Boolean).map((v) => Date.parse(v!));
  if (notBefore !== null && now + CLOCK_SKEW_MS < notBefore) return failed('not yet valid', 'saml_not_yet_valid', subject, 401, classify('not yet valid').detail);
  if (notOnOrAfter.some((t) => now - CLOCK_SKEW_MS >= t)) return failed('expired', 'saml_expired', subject, 401, classify('expired').detail);

  const rememberUntil = new Date(Math.max(now + ASSERTION_MEMORY_MS, ...notOnOrAfter.map((t) => t + CLOCK_SKEW_MS)));
  const accepted = await deps.db
    .insert(samlAssertions)
    .values({ accountId, assertionId, acceptedAt: new Date(now), expiresAt: rememberUntil })
    .onConflictDoNothing()
    .returning({ id: samlAssertions.assertionId });
  if (!accepted.length) return failed(`assertion ${assertionId} replayed`, 'saml_replayed', subject, 401, 'This SAML assertion was already used to sign in; an assertion is accepted only once.');

  // The NameID is the subject the IdP vouches for; an email attribute only when the NameID is not an address.
  const email = String(subject && subject.includes('@') ? subject : profile.email ?? profile.mail ?? '').trim().toLowerCase();
  const [user] = email
    ? await deps.db.select().from(users).where(and(eq(users.accountId, accountId), sql`lower(${users.email}) = ${email}`))
    : [];
  if (!user) {
    return failed(`no user ${email || subject} in this account`, 'saml_unknown_user', subject, 401,
      'The identity provider vouched for a user this account does not have; invite the user first (POST /v1/users).');
  }
  if (user.state !== 'active') {
    return failed(`user ${user.state}`, 'user_inactive', subject, 401, `The user ${user.email} is ${user.state} in this account.`);
  }
  const policy = await accountSecurityOf(deps.db, accountId);
  if (policy.ipAllowlistEnabled) {
    try {
      await assertClientAllowed(deps.db, accountId, meta.ip);
    } catch (err) {
      return failed('address not trusted', 'access_denied', subject, 403, (err as ApiError).detail);
    }
  }
  // The identity provider proves the first factor; a user with TOTP still enters a code unless the
  // account says the identity provider performs multi-factor authentication itself.
  const sec = await userSecurityOf(deps.db, user, deps.clock.now());
  if (!row.idpPerformsMfa) {
    if (sec.totpState === 'enabled') {
      throw await secondFactorRequired(deps, { accountId, user, assertionId, subject, meta });
    } else if (policy.enforce2fa) {
      return failed('two-factor authentication required by the account', 'two_factor_setup_required', subject, 403,
        'This account requires two-factor authentication and you have not set it up: set it up with an API key (POST /v1/me/2fa) or ask an administrator.');
    }
  }
  return startSession(deps, user, meta, {
    method: 'SAML sign in', twoFactorEnabled: sec.totpState === 'enabled',
    details: { method: 'saml', idp_entity_id: row.idpEntityId, assertion_id: assertionId, name_id: subject, second_factor: sec.totpState === 'enabled' ? 'idp' : null },
  });
}

/** Housekeeping: forgets expired AuthnRequest ids and assertion ids (run by the account-purge job). */
export async function cleanUpSaml(deps: Pick<AppDeps, 'db' | 'clock'>) {
  const now = deps.clock.now();
  await deps.db.delete(samlRequests).where(lte(samlRequests.expiresAt, now));
  await deps.db.delete(samlAssertions).where(lte(samlAssertions.expiresAt, now));
}
