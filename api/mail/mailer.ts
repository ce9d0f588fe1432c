// Outgoing email. With SMTP_URL set, messages go through nodemailer's SMTP transport; without it
// (the embedded defaults) each message is rendered to an .eml file in $COFFER_DATA_DIR/outbox/ and
// one line is logged, so a local installation shows what it would have sent. Sending never throws
// into the caller: a mail that cannot be delivered is logged, and the request that caused it stands.
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import type { Config } from '../config.ts';
import { textToHtml } from './html.ts';

export interface MailMessage {
  to: string | string[];
  subject: string;
  text: string;
  /** An HTML alternative to `text`; without it one is made from `text` (./html.ts): every email has both parts. */
  html?: string;
  attachments?: MailAttachment[];
}

export interface MailAttachment {
  filename: string;
  content: string | Buffer;
  contentType?: string;
}

export interface Mailer {
  /** Resolves once the message was handed over (SMTP accepted it, or the .eml file was written). */
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}

export interface MailLog {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const consoleLog: MailLog = {
  info: (obj, msg) => console.log(msg, JSON.stringify(obj)),
  error: (obj, msg) => console.error(msg, obj),
};

export function createMailer(config: Pick<Config, 'smtpUrl' | 'mailFrom' | 'dataDir'>, log: MailLog = consoleLog): Mailer {
  return config.smtpUrl ? smtpMailer(config.smtpUrl, config.mailFrom, log) : outboxMailer(join(config.dataDir, 'outbox'), config.mailFrom, log);
}

export function smtpMailer(smtpUrl: string, from: string, log: MailLog): Mailer {
  const transport = nodemailer.createTransport(smtpUrl);
  return {
    async send(message) {
      try {
        await transport.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html ?? textToHtml(message.text), attachments: message.attachments });
      } catch (err) {
        log.error({ err, to: message.to, subject: message.subject }, 'could not send email');
      }
    },
    async close() {
      transport.close();
    },
  };
}

export function outboxMailer(dir: string, from: string, log: MailLog): Mailer {
  const render = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(message) {
      try {
        const info = await render.sendMail({ from, to: message.to, subject: message.subject, text: message.text, html: message.html ?? textToHtml(message.text), attachments: message.attachments });
        await mkdir(dir, { recursive: true });
        const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}.eml`);
        await writeFile(file, info.message as Buffer, { mode: 0o600 });
        log.info({ to: message.to, file }, `mail: "${message.subject}" written to the outbox (SMTP_URL is not set)`);
      } catch (err) {
        log.error({ err, to: message.to, subject: message.subject }, 'could not write email to the outbox');
      }
    },
    async close() {},
  };
}
