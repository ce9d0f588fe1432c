import { Type, type Static } from '@fastify/type-provider-typebox';
import { NullableTimestamp, ref, Timestamp } from '../../schemas/common.ts';
import { PASSWORD_MAX } from '../../passwords.ts';

const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()]);

export const SamlCertificate = Type.Object(
  {
    subject: Type.String(),
    fingerprint_sha256: Type.String({ description: 'SHA-256 of the DER certificate, colon-separated hex.' }),
    not_before: Timestamp(),
    not_after: Timestamp(),
  },
  { $id: 'SamlCertificate', additionalProperties: false },
);

export const SamlSettings = Type.Object(
  {
    provider: Type.Enum(['okta']),
    configured: Type.Boolean({ description: 'Identity provider metadata has been saved.' }),
    enabled: Type.Boolean({ description: 'SAML is active: users sign in through the identity provider and password sign-in (POST /v1/sessions) is refused with 403 `saml_required`.' }),
    sign_in_method: Type.Enum(['password', 'saml'], { description: 'The seed\'s "Email & Password: Active" / "SAML: Active".' }),
    metadata_source: Type.Union([Type.Enum(['url', 'upload']), Type.Null()]),
    metadata_url: Nullable(Type.String()),
    idp_entity_id: Nullable(Type.String()),
    idp_sso_url: Nullable(Type.String()),
    idp_certificates: Type.Array(ref(SamlCertificate)),
    sp_entity_id: Type.String({ description: 'Coffer\'s entity id for this account (the audience of assertions).' }),
    sp_acs_url: Type.String({ description: 'The assertion consumer service URL (HTTP-POST binding).' }),
    sp_metadata_url: Type.String(),
    sp_login_url: Type.String({ description: 'Starts an SP-initiated sign-in (302 to the identity provider).' }),
    idp_performs_mfa: Type.Boolean({ description: 'The identity provider performs multi-factor authentication, so SAML sign-in skips Coffer\'s TOTP. When false (the default), a user with two-factor authentication enters a TOTP code after the identity provider (POST /v1/saml/{account_id}/two-factor).' }),
    activated_at: NullableTimestamp(),
    updated_at: NullableTimestamp(),
  },
  { $id: 'SamlSettings', additionalProperties: false, description: 'SAML single sign-on of the account (seed 5.4.3).' },
);
export type SamlSettings = Static<typeof SamlSettings>;

export const SamlSettingsUpdate = Type.Object(
  {
    provider: Type.Optional(Type.Enum(['okta'])),
    metadata_url: Type.Optional(Type.String({ format: 'uri', maxLength: 2048, description: 'The identity provider\'s metadata URL (Okta: the app\'s metadata link); fetched once, server-side.' })),
    metadata_xml: Type.Optional(Type.String({ minLength: 1, maxLength: 1_048_576, description: 'The uploaded metadata document, instead of `metadata_url`.' })),
    enabled: Type.Boolean({ description: 'true activates SAML (and disables password sign-in); false returns to email & password.' }),
    confirm: Type.Optional(Type.Boolean({ description: 'Must be true to activate: activating SAML disables email & password sign-in for every user of the account.' })),
    idp_performs_mfa: Type.Optional(Type.Boolean({ description: 'Trust the identity provider for multi-factor authentication (skip Coffer\'s TOTP after SAML sign-in). Unchanged when omitted; false on first configuration.' })),
    current_password: Type.Optional(Type.String({ minLength: 1, maxLength: PASSWORD_MAX, description: 'Step-up: the caller\'s password, required when the caller has no two-factor authentication.' })),
    totp_code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'Step-up: a code from the caller\'s authenticator app, required when the caller has two-factor authentication.' })),
  },
  { $id: 'SamlSettingsUpdate', additionalProperties: false },
);
export type SamlSettingsUpdate = Static<typeof SamlSettingsUpdate>;

/**
 * The most the ACS reads. A real response is a few kilobytes (an assertion, a signature, a
 * certificate); the ACS is public, so anything bigger is refused before it is parsed.
 */
export const ACS_BODY_LIMIT = 256 * 1024;

export const SamlAcsForm = Type.Object(
  {
    SAMLResponse: Type.String({ minLength: 1, maxLength: ACS_BODY_LIMIT, description: 'The base64 SAML Response (HTTP-POST binding).' }),
    RelayState: Type.Optional(Type.String({ maxLength: 2048 })),
  },
  { $id: 'SamlAcsForm', additionalProperties: false },
);
export type SamlAcsForm = Static<typeof SamlAcsForm>;

export const SamlTwoFactor = Type.Object(
  {
    two_factor_token: Type.String({ minLength: 1, maxLength: 1024, description: 'From the ACS\'s 401 `totp_required` answer.' }),
    totp_code: Type.String({ pattern: '^[0-9]{6}$', description: 'The current code of the user\'s authenticator app.' }),
  },
  { $id: 'SamlTwoFactor', additionalProperties: false },
);
export type SamlTwoFactor = Static<typeof SamlTwoFactor>;

export const AccountIdParam = Type.Object({
  account_id: Type.String({ pattern: '^acct_[0-9a-z]{26}$', description: 'The account\'s id (`acct_…`).' }),
});

export const SamlLoginQuery = Type.Object(
  { relay_state: Type.Optional(Type.String({ maxLength: 1024, description: 'Sent to the identity provider as RelayState and returned to the ACS.' })) },
  { additionalProperties: false },
);

export const schemas = [SamlCertificate, SamlSettings, SamlSettingsUpdate, SamlAcsForm, SamlTwoFactor];
