// Envelope encryption: data key wrapping, subkey derivation, the master key file, sealed secrets.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError } from '#workers/storage/errors.ts';
import { deriveAccountKeys, loadMasterKey, MasterKeyring, sealedSecretVersion, writeKeyFile } from '#workers/storage/keys.ts';

const ring = (key = randomBytes(32), version = 1) => new MasterKeyring([{ version, key }]);

t.test('data key wrap/unwrap round trip', async (t) => {
  const master = ring();
  const { plaintext, wrapped } = master.generateDataKey();
  t.equal(plaintext.length, 32);
  t.equal(wrapped.length, 62, 'format(1) + version(1) + nonce(12) + key(32) + tag(16)');
  t.equal(wrapped[0], 1, 'format byte');
  t.equal(wrapped[1], 1, 'master key version');
  t.ok(master.unwrapDataKey(wrapped).equals(plaintext));
  t.not(master.generateDataKey().plaintext.toString('hex'), plaintext.toString('hex'), 'keys are random');
});

t.test('unwrapping under another master key fails', async (t) => {
  const { wrapped } = ring().generateDataKey();
  t.throws(() => ring().unwrapDataKey(wrapped), IntegrityError);
  const tampered = Buffer.from(wrapped);
  tampered[20]! ^= 1;
  t.throws(() => ring().unwrapDataKey(tampered), IntegrityError);
  t.throws(() => ring().unwrapDataKey(wrapped.subarray(0, 40)), { name: 'IntegrityError', reason: 'format' });
});

t.test('rotation: a keyring with two versions wraps with the newest and unwraps both', async (t) => {
  const oldKey = randomBytes(32);
  const oldWrapped = ring(oldKey, 1).generateDataKey();
  const rotated = new MasterKeyring([{ version: 1, key: oldKey }, { version: 2, key: randomBytes(32) }]);
  t.ok(rotated.unwrapDataKey(oldWrapped.wrapped).equals(oldWrapped.plaintext));
  const fresh = rotated.generateDataKey();
  t.equal(fresh.wrapped[1], 2);
  t.throws(() => ring(oldKey, 1).unwrapDataKey(fresh.wrapped), { name: 'IntegrityError', reason: 'format' }, 'version 2 not loaded');
  // A forged version byte cannot redirect decryption: the header is authenticated.
  const forged = Buffer.from(fresh.wrapped);
  forged[1] = 1;
  t.throws(() => rotated.unwrapDataKey(forged), { name: 'IntegrityError', reason: 'authentication' });
});

t.test('subkeys: distinct, deterministic, per data key', async (t) => {
  const dataKey = randomBytes(32);
  const a = deriveAccountKeys(dataKey);
  const b = deriveAccountKeys(Buffer.from(dataKey));
  t.ok(a.encryptionKey.equals(b.encryptionKey));
  t.ok(a.namingKey.equals(b.namingKey));
  t.notOk(a.encryptionKey.equals(a.namingKey), 'encryption and naming keys differ');
  t.notOk(a.encryptionKey.equals(dataKey), 'the data key itself is never used directly');
  t.notOk(deriveAccountKeys(randomBytes(32)).encryptionKey.equals(a.encryptionKey));
  // Fixed vector: guards against an accidental change of the HKDF labels, which would orphan data.
  const fixed = deriveAccountKeys(Buffer.alloc(32, 1));
  t.equal(fixed.encryptionKey.toString('hex'), 'd44f2385c3709b9efae0f419ca2588f7d951f070e4b680aafed658fe86b6cc29');
  t.equal(fixed.namingKey.toString('hex'), 'db745ae20f4865dae283e84e7e279d2ac0ae1b22017cc4d650335730c9d0f26a');
  t.throws(() => deriveAccountKeys(randomBytes(16)));
});

t.test('sealed secrets', async (t) => {
  const master = ring();
  const sealed = master.sealSecret('sl.refresh-token-ü', 'dropbox-refresh-token');
  t.match(sealed, /^s1\.[A-Za-z0-9_-]+$/);
  t.not(master.sealSecret('x'), master.sealSecret('x'), 'random nonce per seal');
  t.equal(master.openSecret(sealed, 'dropbox-refresh-token'), 'sl.refresh-token-ü');
  t.equal(master.openSecret(master.sealSecret('')), '', 'empty secret');
  t.throws(() => master.openSecret(sealed, 'totp-secret'), { name: 'IntegrityError', reason: 'authentication' }, 'wrong context');
  t.throws(() => ring().openSecret(sealed, 'dropbox-refresh-token'), { name: 'IntegrityError', reason: 'authentication' }, 'wrong master key');
  const bytes = Buffer.from(sealed.slice(3), 'base64url');
  bytes[bytes.length - 20]! ^= 0x40;
  t.throws(() => master.openSecret(`s1.${bytes.toString('base64url')}`, 'dropbox-refresh-token'), IntegrityError, 'tampered');
  t.throws(() => master.openSecret('v9.abc'), { name: 'IntegrityError', reason: 'format' }, 'unknown format');
  t.throws(() => master.openSecret('s1.AAAA'), { name: 'IntegrityError', reason: 'format' }, 'truncated');
});

t.test('master key file: generated once, mode 0600, reused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'data');
  const first = await loadMasterKey({ dataDir, env: {} });
  t.equal(first.generated, true);
  t.equal(first.source, 'file');
  t.equal(first.path, join(dataDir, 'master.key'));
  t.equal((await stat(first.path!)).mode & 0o777, 0o600);
  t.equal(Buffer.from((await readFile(first.path!, 'utf8')).trim(), 'base64').length, 32);
  const second = await loadMasterKey({ dataDir, env: {} });
  t.equal(second.generated, false);
  t.ok(second.keyring.current.key.equals(first.keyring.current.key), 'same key reused');
  const { wrapped, plaintext } = first.keyring.generateDataKey();
  t.ok(second.keyring.unwrapDataKey(wrapped).equals(plaintext));
  t.same(await readdir(dataDir), ['master.key'], 'no temp files left behind');
  await writeFile(first.path!, 'c2hvcnQ=\n');
  await t.rejects(loadMasterKey({ dataDir, env: {} }), /master\.key must hold 32 bytes/, 'a damaged key file is refused, never replaced');
});

t.test('master key file: concurrent first starts agree on one key', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const results = await Promise.all(Array.from({ length: 8 }, () => loadMasterKey({ dataDir: dir, env: {} })));
  t.equal(results.filter((r) => r.generated).length, 1, 'exactly one generated it');
  const keys = new Set(results.map((r) => r.keyring.current.key.toString('hex')));
  t.equal(keys.size, 1);
  t.same(await readdir(dir), ['master.key']);
});

t.test('COFFER_MASTER_KEY wins and is validated', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const key = randomBytes(32);
  const loaded = await loadMasterKey({ dataDir: dir, env: { COFFER_MASTER_KEY: key.toString('base64') } });
  t.equal(loaded.source, 'env');
  t.equal(loaded.generated, false);
  t.ok(loaded.keyring.current.key.equals(key));
  t.same(await readdir(dir), [], 'no key file written');
  await t.rejects(loadMasterKey({ dataDir: dir, env: { COFFER_MASTER_KEY: randomBytes(16).toString('base64') } }), /32 bytes/);
});

t.test('a rotated installation loads several versioned keys: the newest seals, every one reads', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'coffer-keys-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const v1 = randomBytes(32);
  const v2 = randomBytes(32);
  const sealedByV1 = ring(v1).sealSecret('old', 'ctx');
  // The key file as `rotate-master-key --add-key` leaves it: one `<version>:<base64>` a line.
  await writeKeyFile(dir, [{ version: 1, key: v1 }, { version: 2, key: v2 }]);
  t.equal((await stat(join(dir, 'master.key'))).mode & 0o777, 0o600);
  const fromFile = (await loadMasterKey({ dataDir: dir, env: {} })).keyring;
  t.same(fromFile.versions, [1, 2]);
  t.equal(fromFile.current.version, 2);
  t.equal(fromFile.openSecret(sealedByV1, 'ctx'), 'old', 'the old key still reads');
  t.equal(sealedSecretVersion(fromFile.sealSecret('new', 'ctx')), 2, 'new secrets are sealed under the newest');
  // The same through the environment.
  const env = { COFFER_MASTER_KEY: `2:${v2.toString('base64')}`, COFFER_MASTER_KEY_PREVIOUS: `1:${v1.toString('base64')}` };
  const fromEnv = (await loadMasterKey({ dataDir: dir, env })).keyring;
  t.equal(fromEnv.current.version, 2);
  t.equal(fromEnv.openSecret(sealedByV1, 'ctx'), 'old');
  // A plain key is version 1, so an installation that never rotated reads as before.
  t.equal((await loadMasterKey({ dataDir: dir, env: { COFFER_MASTER_KEY: v1.toString('base64') } })).keyring.current.version, 1);
  await t.rejects(loadMasterKey({ dataDir: dir, env: { COFFER_MASTER_KEY: `1:${v1.toString('base64')}`, COFFER_MASTER_KEY_PREVIOUS: `2:${v2.toString('base64')}` } }), /must be the newest/);
  await t.rejects(loadMasterKey({ dataDir: dir, env: { COFFER_MASTER_KEY: `1:${v1.toString('base64')}`, COFFER_MASTER_KEY_PREVIOUS: `1:${v2.toString('base64')}` } }), /given twice/);
  await writeFile(join(dir, 'master.key'), `1:${v1.toString('base64')}\n1:${v2.toString('base64')}\n`);
  await t.rejects(loadMasterKey({ dataDir: dir, env: {} }), /given twice/);
});
