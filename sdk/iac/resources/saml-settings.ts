// coffer_saml_settings: SAML single sign-on (`/v1/security/saml`), a singleton. Create and update
// PUT the settings; destroy deactivates SAML (the identity provider's metadata is kept, inactive).
// Every change needs the caller's step-up proof (`current_password`, or `totp_code` when the user
// has 2FA) and an administrator's credentials; both are write-only, as is uploaded metadata XML
// (the API never returns it: raise `metadata_xml_version` to send new XML). Declaring
// `enabled = true` is the confirmation the API asks for before it disables password sign-in.
// Destroy has no configuration to take the proof from (write-only values are not in state): when
// SAML is active it fails with `step_up_required`, saying to apply `enabled = false` with the
// proof first; once SAML is inactive, destroy has nothing left to do.
import type { Attributes, CallContext, ResourceType } from '../types.ts';
import { CofferError } from '../../errors.ts';
import { SINGLETON_ID, ifMatch, remote } from './support.ts';

interface SamlBody {
  provider: string; configured: boolean; enabled: boolean; sign_in_method: string; metadata_source: string | null; metadata_url: string | null;
  idp_entity_id: string | null; idp_sso_url: string | null; sp_entity_id: string; sp_acs_url: string; sp_metadata_url: string; sp_login_url: string;
  idp_performs_mfa: boolean; activated_at: string | null;
}

const attributes = (s: SamlBody, prior?: Attributes): Attributes => ({
  id: SINGLETON_ID, provider: s.provider, enabled: s.enabled, metadata_url: s.metadata_url, idp_performs_mfa: s.idp_performs_mfa,
  metadata_xml_version: typeof prior?.metadata_xml_version === 'number' ? prior.metadata_xml_version : null,
  configured: s.configured, sign_in_method: s.sign_in_method, metadata_source: s.metadata_source, idp_entity_id: s.idp_entity_id,
  idp_sso_url: s.idp_sso_url, sp_entity_id: s.sp_entity_id, sp_acs_url: s.sp_acs_url, sp_metadata_url: s.sp_metadata_url,
  sp_login_url: s.sp_login_url, activated_at: s.activated_at,
});

function body(planned: Attributes, prior: Attributes | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { enabled: planned.enabled === true };
  if (planned.enabled === true) out.confirm = true;
  if (typeof planned.metadata_xml === 'string') out.metadata_xml = planned.metadata_xml;
  else if (typeof planned.metadata_url === 'string' && planned.metadata_url !== prior?.metadata_url) out.metadata_url = planned.metadata_url;
  if (typeof planned.idp_performs_mfa === 'boolean') out.idp_performs_mfa = planned.idp_performs_mfa;
  if (typeof planned.provider === 'string') out.provider = planned.provider;
  if (typeof planned.current_password === 'string') out.current_password = planned.current_password;
  if (typeof planned.totp_code === 'string') out.totp_code = planned.totp_code;
  return out;
}

async function put(ctx: CallContext, planned: Attributes, prior: Attributes | undefined, etag: string | undefined) {
  const s = await ctx.client.security.updateSamlSettings(body(planned, prior) as never, { signal: ctx.signal, ...ifMatch(etag) });
  return remote(SINGLETON_ID, attributes(s as SamlBody, planned), s);
}

const computed = (description: string) => ({ type: 'string' as const, computed: true, description });

export const samlSettings: ResourceType = {
  name: 'coffer_saml_settings',
  description: 'SAML single sign-on (one per account). Changes need `current_password` (or `totp_code`); destroy deactivates SAML.',
  schemaVersion: 1,
  attributes: {
    id: { type: 'string', computed: true, description: 'Always `account`.' },
    provider: { type: 'string', optional: true, computed: true, description: 'The identity provider (`okta`).' },
    enabled: { type: 'bool', required: true, description: 'SAML sign-in is active (it replaces email & password sign-in for every user).' },
    metadata_url: { type: 'string', optional: true, computed: true, description: 'Where Coffer fetches the identity provider\'s metadata.' },
    metadata_xml: { type: 'string', optional: true, writeOnly: true, description: 'The identity provider\'s metadata, uploaded instead of `metadata_url`. Write-only.' },
    metadata_xml_version: { type: 'number', optional: true, description: 'Raise it to upload `metadata_xml` again.' },
    idp_performs_mfa: { type: 'bool', optional: true, computed: true, description: 'Trust the identity provider for two-factor authentication.' },
    current_password: { type: 'string', optional: true, sensitive: true, writeOnly: true, description: 'Step-up proof for the change: the caller\'s password. Write-only.' },
    totp_code: { type: 'string', optional: true, sensitive: true, writeOnly: true, description: 'Step-up proof for a caller with 2FA. Write-only.' },
    configured: { type: 'bool', computed: true, description: 'An identity provider is set.' },
    sign_in_method: computed('`password` or `saml`.'),
    metadata_source: computed('`url` or `upload`.'),
    idp_entity_id: computed('The identity provider\'s entity id, from its metadata.'),
    idp_sso_url: computed('The identity provider\'s sign-in URL, from its metadata.'),
    sp_entity_id: computed('Coffer\'s entity id for this account (enter it in the identity provider).'),
    sp_acs_url: computed('Coffer\'s assertion consumer service URL for this account.'),
    sp_metadata_url: computed('Coffer\'s service-provider metadata URL.'),
    sp_login_url: computed('Where users start a SAML sign-in.'),
    activated_at: { type: 'string', computed: true, description: 'When SAML was last activated.' },
  },
  async create(ctx, planned) {
    return put(ctx, planned, undefined, undefined);
  },
  async read(ctx, _id, prior) {
    const s = await ctx.client.security.getSamlSettings({ signal: ctx.signal });
    return remote(SINGLETON_ID, attributes(s as SamlBody, prior), s);
  },
  async update(ctx, _id, planned, prior, etag) {
    return put(ctx, planned, prior, etag);
  },
  async delete(ctx) {
    const s = await ctx.client.security.getSamlSettings({ signal: ctx.signal });
    if (!s.configured || !s.enabled) return;
    try {
      await ctx.client.security.updateSamlSettings({ enabled: false } as never, { signal: ctx.signal });
    } catch (err) {
      if (err instanceof CofferError && err.code === 'step_up_required') {
        throw new Error(`coffer_saml_settings: deactivating SAML needs the caller's step-up proof, which is write-only and not in state: `
          + `set enabled = false with current_password in the configuration and apply, then destroy (${err.problem?.detail ?? err.message}).`);
      }
      throw err;
    }
  },
};
