// The writes of the API that record no audit event, each with the reason it is not security-
// relevant. Every other write declares the event type(s) it records in its route's `config.audit`
// (published as `x-audit`); test/api/audit-coverage.test.ts fails when a write of the OpenAPI
// document is in neither place, or in both. Adding a write means deciding here or there.
export const AUDIT_EXEMPT: Readonly<Record<string, string>> = {
  signUp: 'No account exists yet: a pending sign-up and an email.',
  activateAccount: 'Creates a new, empty account (its created_at and first administrator say when and who); its audit log starts with what is done in it.',
  resendActivation: 'No account exists yet: a new activation link for a pending sign-up.',
  confirmDropboxAuthorization: 'Only leaves a cookie in the confirming browser; the connection itself is audited by the OAuth callback (task_connected).',
  discoverTask: 'Queues a listing of the team\'s members; it changes no setting, and what discovery finds is in the activity log.',
  createTag: 'Tags are labels for filtering: they grant no access and change no backup. Tagging entities is audited (entity_action).',
  updateTag: 'Renames a label; grants no access and changes no backup.',
  deleteTag: 'Removes a label; grants no access and changes no backup.',
  resendUserConfirmation: 'Sends the invitation again (the invitation was audited: user_invited); the user\'s access does not change.',
  startIdentityLink: 'Creates a 10-minute pending request at the provider that links nothing by itself; the link is audited (identity_linked) when the provider answers the callback.',
  setUpTwoFactor: 'Creates a pending TOTP secret that protects nothing until confirmed; confirming writes 2fa_enabled.',
  sendSummaryReport: 'Mails the summary report to the recipients the settings name (whose changes are audited); changes nothing.',
  pingWebhookEndpoint: 'Sends a test event to an endpoint whose creation and changes are audited; changes nothing.',
  createTestEvent: 'Records a made-up event in the caller\'s own events feed (never sent to webhook endpoints) so a listener can be tested; changes no data nor setting.',
  redeliverWebhook: 'Sends an existing delivery again to its endpoint; changes no setting.',
  startVerification: 'Reads the backups to check them; changes no data nor setting (the outcome is in the activity log).',
};
