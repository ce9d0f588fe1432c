// The two emails a sign-up sends: the activation link to a new address, and a notice to the owner
// of an address that has an account already (the API answers both the same, so only the mailbox
// learns which it was). Plain text and HTML say the same.
import type { MailMessage } from '../../mail/mailer.ts';
import { escapeHtml } from '../notifications/templates.ts';

interface Body {
  to: string;
  subject: string;
  paragraphs: string[];
  link?: { label: string; url: string };
  after: string[];
}

function render(body: Body): MailMessage {
  const text = [...body.paragraphs.flatMap((p) => [p, '']), ...(body.link ? [`${body.link.label}:`, body.link.url, ''] : []), ...body.after.flatMap((p) => [p, ''])].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family: Arial, Helvetica, sans-serif; color: #1f2933; line-height: 1.45;">',
    ...body.paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`),
    body.link ? `<p><a href="${escapeHtml(body.link.url)}">${escapeHtml(body.link.label)}</a></p>` : '',
    ...body.after.map((p) => `<p style="font-size: 13px; color: #52606d;">${escapeHtml(p)}</p>`),
    '</body></html>',
  ].join('\n');
  return { to: body.to, subject: body.subject, text, html };
}

export function activationMail(publicUrl: string, signup: { email: string; accountName: string; expiresAt: Date }, token: string): MailMessage {
  return render({
    to: signup.email,
    subject: 'Activate your Coffer account',
    paragraphs: [
      `Your Coffer trial account "${signup.accountName}" is ready. Activate it with the link below before ${signup.expiresAt.toISOString()} (48 hours).`,
    ],
    link: { label: 'Activate your Coffer account', url: `${publicUrl}/v1/accounts/activate?token=${token}` },
    after: [
      `Activating means POSTing the token to ${publicUrl}/v1/accounts/activate as {"token": "…"}: the answer holds your account, its administrator and a first API key, whose secret is shown only then. Once your account is activated, sign in with your email and password.`,
      'The link works once. If it has expired, ask for a new one: POST your email to /v1/accounts/activation/resend.',
      'If you did not sign up for Coffer, ignore this message: nothing is created without this link.',
    ],
  });
}

export function existingAccountMail(publicUrl: string, email: string, ip: string): MailMessage {
  return render({
    to: email,
    subject: 'Someone tried to sign up to Coffer with your address',
    paragraphs: [
      `Someone (perhaps you) tried to create a Coffer account with ${email} from ${ip}. You already have an account with this address, so nothing was created and nothing changed.`,
      `Sign in with your email and password (POST ${publicUrl}/v1/sessions). If you forgot your password, POST {"email": "…"} to ${publicUrl}/v1/password-reset: a reset link follows by email.`,
    ],
    after: ['If it was not you, you need not do anything: your account is safe.'],
  });
}
