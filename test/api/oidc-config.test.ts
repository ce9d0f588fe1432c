import t from 'tap';
import { ConfigError, oidcConfig } from '../../api/config.ts';

t.test('OIDC providers from the environment: off without a client id, Google\'s issuer by default, Microsoft\'s required', async (t) => {
  t.same(oidcConfig({}), {});
  t.same(oidcConfig({ COFFER_OIDC_GOOGLE_CLIENT_ID: 'id', COFFER_OIDC_GOOGLE_CLIENT_SECRET: 's' }), { google: { issuer: 'https://accounts.google.com', clientId: 'id', clientSecret: 's' } });
  t.throws(() => oidcConfig({ COFFER_OIDC_GOOGLE_CLIENT_ID: 'id' }), new ConfigError('COFFER_OIDC_GOOGLE_CLIENT_SECRET', 'is required when COFFER_OIDC_GOOGLE_CLIENT_ID is set'));
  t.throws(() => oidcConfig({ COFFER_OIDC_MICROSOFT_CLIENT_ID: 'id', COFFER_OIDC_MICROSOFT_CLIENT_SECRET: 's' }), { name: 'ConfigError', message: /^COFFER_OIDC_MICROSOFT_ISSUER: is required/ });
  t.same(oidcConfig({ COFFER_OIDC_MICROSOFT_CLIENT_ID: 'id', COFFER_OIDC_MICROSOFT_CLIENT_SECRET: 's', COFFER_OIDC_MICROSOFT_ISSUER: 'https://login.microsoftonline.com/t1/v2.0/' }).microsoft,
    { issuer: 'https://login.microsoftonline.com/t1/v2.0', clientId: 'id', clientSecret: 's' });
  // ID tokens over plain http only from a provider on this machine.
  t.throws(() => oidcConfig({ COFFER_OIDC_GOOGLE_CLIENT_ID: 'id', COFFER_OIDC_GOOGLE_CLIENT_SECRET: 's', COFFER_OIDC_GOOGLE_ISSUER: 'http://idp.example.com' }), { name: 'ConfigError', message: /^COFFER_OIDC_GOOGLE_ISSUER: must use https/ });
  t.equal(oidcConfig({ COFFER_OIDC_GOOGLE_CLIENT_ID: 'id', COFFER_OIDC_GOOGLE_CLIENT_SECRET: 's', COFFER_OIDC_GOOGLE_ISSUER: 'http://127.0.0.1:9000' }).google?.issuer, 'http://127.0.0.1:9000');
});
