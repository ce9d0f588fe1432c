// The sandbox payment provider charges every valid card number "successfully": production must not
// run it by accident, and anything but a development machine must say that it runs it.
import t from 'tap';
import { ConfigError, loadConfig } from '../../api/config.ts';

function configError(env: Record<string, string | undefined>): ConfigError | null {
  try {
    loadConfig(env);
    return null;
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
}

const REFUSED = 'COFFER_BILLING_PROVIDER: is the sandbox (every valid card number is charged "successfully", no money moves) while NODE_ENV=production: configure a real payment provider, or set COFFER_BILLING_ALLOW_SANDBOX=true to run it anyway';

t.test('NODE_ENV=production refuses the sandbox with one line naming the variable', async (t) => {
  for (const env of [{ NODE_ENV: 'production' }, { NODE_ENV: 'production', COFFER_BILLING_PROVIDER: 'sandbox' }, { NODE_ENV: 'production', COFFER_BILLING_ALLOW_SANDBOX: 'false' }]) {
    const err = configError(env);
    t.equal(err?.message, REFUSED, JSON.stringify(env));
    t.equal(err?.variable, 'COFFER_BILLING_PROVIDER');
    t.notOk(err?.message.includes('\n'), 'one line');
  }
  t.equal(configError({ NODE_ENV: 'production', COFFER_BILLING_ALLOW_SANDBOX: 'maybe' })?.message, 'COFFER_BILLING_ALLOW_SANDBOX: must be true or false, got "maybe"');
});

t.test('an explicit acknowledgement lets production run the sandbox, with the warning', async (t) => {
  const config = loadConfig({ NODE_ENV: 'production', COFFER_BILLING_ALLOW_SANDBOX: 'true' });
  t.match(config.billing, { provider: 'sandbox', allowSandbox: true });
  t.same(config.warnings, ['payment provider is the sandbox: every valid card number is charged "successfully" and no money moves (NODE_ENV=production; set NODE_ENV=development to silence this on a development machine)']);
});

t.test('outside development the sandbox is a warning; in development and tests it is not', async (t) => {
  t.same(loadConfig({}).warnings, ['payment provider is the sandbox: every valid card number is charged "successfully" and no money moves (NODE_ENV=(unset); set NODE_ENV=development to silence this on a development machine)'], 'NODE_ENV unset');
  t.match(loadConfig({ NODE_ENV: 'staging' }).warnings, [/NODE_ENV=staging;/]);
  t.same(loadConfig({ NODE_ENV: 'development' }).warnings, []);
  t.same(loadConfig({ NODE_ENV: 'test' }).warnings, []);
  t.equal(loadConfig({ NODE_ENV: 'development' }).billing!.allowSandbox, false);
});
