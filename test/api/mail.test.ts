import t from 'tap';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMailer } from '../../api/mail/mailer.ts';
import { ConfigError, loadConfig } from '../../api/config.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

function collectingLog() {
  const lines: { level: string; obj: object; msg: string }[] = [];
  return {
    lines,
    log: { info: (obj: object, msg: string) => lines.push({ level: 'info', obj, msg }), error: (obj: object, msg: string) => lines.push({ level: 'error', obj, msg }) },
  };
}

t.test('without SMTP_URL each message is written as an .eml file into the outbox, with one log line', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'coffer-mail-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const { lines, log } = collectingLog();
  const mailer = createMailer({ smtpUrl: undefined, mailFrom: 'Coffer <robot@example.test>', dataDir }, log);
  await mailer.send({ to: ['a@example.test', 'b@example.test'], subject: 'Hello there', text: 'Line one\nhttps://coffer.example.test/x?token=abc' });
  const files = await readdir(join(dataDir, 'outbox'));
  t.equal(files.length, 1);
  t.match(files[0], /\.eml$/);
  const eml = await readFile(join(dataDir, 'outbox', files[0]!), 'utf8');
  t.match(eml, /^From: Coffer <robot@example\.test>$/m);
  t.match(eml, /^To: a@example\.test, b@example\.test$/m);
  t.match(eml, /^Subject: Hello there$/m);
  t.match(eml, /https:\/\/coffer\.example\.test\/x\?token=abc/);
  t.equal(lines.length, 1);
  t.match(lines[0], { level: 'info', msg: 'mail: "Hello there" written to the outbox (SMTP_URL is not set)' });
  await mailer.close();
});

t.test('with SMTP_URL messages go to the SMTP server; a long link survives quoted-printable', async (t) => {
  const smtp = await startSmtpServer(t);
  const { lines, log } = collectingLog();
  const mailer = createMailer({ smtpUrl: smtp.url, mailFrom: 'robot@example.test', dataDir: '/nonexistent' }, log);
  t.teardown(() => mailer.close());
  const link = `https://coffer.example.test/v1/users/confirm?token=cft_${'A'.repeat(32)}&and=${'b'.repeat(60)}`;
  await mailer.send({ to: 'someone@example.test', subject: 'Über=strange subject', text: `Hi,\n\n${link}\n` });
  t.equal(smtp.messages.length, 1);
  const mail = smtp.last('someone@example.test');
  t.equal(mail.from, 'robot@example.test');
  t.equal(mail.subject, 'Über=strange subject');
  t.same(mail.links, [link]);
  t.equal(lines.length, 0);
});

t.test('an unreachable SMTP server is logged, not thrown', async (t) => {
  const { lines, log } = collectingLog();
  const mailer = createMailer({ smtpUrl: 'smtp://127.0.0.1:1', mailFrom: 'robot@example.test', dataDir: '/nonexistent' }, log);
  t.teardown(() => mailer.close());
  await mailer.send({ to: 'x@example.test', subject: 's', text: 't' });
  t.equal(lines.length, 1);
  t.equal(lines[0]!.level, 'error');
  t.equal(lines[0]!.msg, 'could not send email');
});

t.test('SMTP_URL and COFFER_MAIL_FROM are validated', async (t) => {
  t.same([loadConfig({}).smtpUrl, loadConfig({}).mailFrom], [undefined, 'Coffer <no-reply@coffer.localhost>']);
  const ok = loadConfig({ SMTP_URL: 'smtps://user:pass@mail.example.test:465', COFFER_MAIL_FROM: 'Backups <backups@example.test>' });
  t.equal(ok.smtpUrl, 'smtps://user:pass@mail.example.test:465');
  t.equal(ok.mailFrom, 'Backups <backups@example.test>');
  t.equal(loadConfig({ COFFER_MAIL_FROM: 'backups@example.test' }).mailFrom, 'backups@example.test');
  t.throws(() => loadConfig({ SMTP_URL: 'http://mail.example.test' }), new ConfigError('SMTP_URL', 'must use smtp: or smtps:, got http:'));
  t.throws(() => loadConfig({ SMTP_URL: 'not a url' }), new ConfigError('SMTP_URL', 'is not a valid URL'));
  t.throws(() => loadConfig({ COFFER_MAIL_FROM: 'nobody' }), { name: 'ConfigError', variable: 'COFFER_MAIL_FROM' });
});
