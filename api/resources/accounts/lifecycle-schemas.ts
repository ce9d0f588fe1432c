// Account lifecycle (seed 5.2.1–5.2.2): changing the account's email address (confirmed by the new
// address) and removing the account (7-day grace period, then purge).
import { Type, type Static } from '@fastify/type-provider-typebox';
import { Timestamp } from '../../schemas/common.ts';

export const EmailChangeRequest = Type.Object(
  { email: Type.String({ format: 'email', maxLength: 254, description: 'The new address; it becomes the account\'s email once confirmed from the link sent to it.' }) },
  { $id: 'EmailChangeRequest', additionalProperties: false },
);
export type EmailChangeRequest = Static<typeof EmailChangeRequest>;

export const EmailChange = Type.Object(
  {
    email: Type.String({ format: 'email', description: 'The account\'s current (still active) email.' }),
    pending_email: Type.String({ format: 'email', description: 'The new address waiting for its confirmation.' }),
    requested_at: Timestamp(),
    expires_at: Timestamp('The confirmation link stops working at this time (24 hours); resend for a new one.'),
  },
  { $id: 'EmailChange', additionalProperties: false, description: 'A pending change of the account email (seed: "New Email - Waiting for Approval").' },
);
export type EmailChange = Static<typeof EmailChange>;

export const EmailChangeConfirm = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 100, description: 'The `token` of the link emailed to the new address.' }) },
  { $id: 'EmailChangeConfirm', additionalProperties: false },
);
export type EmailChangeConfirm = Static<typeof EmailChangeConfirm>;

export const AccountRemovalRequest = Type.Object(
  {
    approve_data_removal: Type.Boolean({ description: 'Must be true: "I approve the removal of my data". After the 7-day grace period every backup, key and setting of the account is erased.' }),
  },
  { $id: 'AccountRemovalRequest', additionalProperties: false },
);
export type AccountRemovalRequest = Static<typeof AccountRemovalRequest>;

export const schemas = [EmailChangeRequest, EmailChange, EmailChangeConfirm, AccountRemovalRequest];
