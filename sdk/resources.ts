// generated — do not edit; run `npm run generate` (method names: scripts/sdk-methods.ts)
// One class per namespace of the API and one method per operation; the client (client.ts) mounts
// them: `coffer.tags.list()`, `coffer.billing.invoices.get(id)`.
import { OPERATIONS } from './operations.ts';
import { Resource } from './resource.ts';
import { JobWaiter } from './jobs.ts';
import { EventStreamer } from './events.ts';
import type { PagePromise } from './pagination.ts';
import type { Transport } from './transport.ts';
import type { BodyOf, ItemOf, QueryOf, RequestOptions, ResultOf, UpdateOptions, WithResponse } from './types.ts';

/** `coffer.health` */
export class Health extends Resource {
  /** Liveness: the process is serving — `GET /healthz` (getHealth) */
  check(options?: RequestOptions): Promise<WithResponse<ResultOf<'getHealth'>>> {
    return this._transport.call(OPERATIONS.getHealth, [], undefined, options) as Promise<WithResponse<ResultOf<'getHealth'>>>;
  }

  /** Readiness: the database answers and every migration is applied — `GET /readyz` (getReadiness) */
  ready(options?: RequestOptions): Promise<WithResponse<ResultOf<'getReadiness'>>> {
    return this._transport.call(OPERATIONS.getReadiness, [], undefined, options) as Promise<WithResponse<ResultOf<'getReadiness'>>>;
  }
}

/** `coffer.accounts` */
export class Accounts extends Resource {
  /** Sign up: ask for an account — `POST /v1/accounts` (signUp) */
  signUp(body: BodyOf<'signUp'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'signUp'>>> {
    return this._transport.call(OPERATIONS.signUp, [], body, options) as Promise<WithResponse<ResultOf<'signUp'>>>;
  }

  /** Check an activation link — `GET /v1/accounts/activate` (inspectActivation) */
  inspectActivation(query: QueryOf<'inspectActivation'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'inspectActivation'>>> {
    return this._transport.call(OPERATIONS.inspectActivation, [], query, options) as Promise<WithResponse<ResultOf<'inspectActivation'>>>;
  }

  /** Activate an account: the second step of sign-up — `POST /v1/accounts/activate` (activateAccount) */
  activate(body: BodyOf<'activateAccount'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'activateAccount'>>> {
    return this._transport.call(OPERATIONS.activateAccount, [], body, options) as Promise<WithResponse<ResultOf<'activateAccount'>>>;
  }

  /** Send the activation link again — `POST /v1/accounts/activation/resend` (resendActivation) */
  resendActivation(body: BodyOf<'resendActivation'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'resendActivation'>>> {
    return this._transport.call(OPERATIONS.resendActivation, [], body, options) as Promise<WithResponse<ResultOf<'resendActivation'>>>;
  }
}

/** `coffer.me.identities` */
export class MeIdentities extends Resource {
  /** Your linked Google / Microsoft identities — `GET /v1/me/identities` (listIdentities) */
  list(query?: QueryOf<'listIdentities'>, options?: RequestOptions): PagePromise<ItemOf<'listIdentities'>> {
    return this._transport.list(OPERATIONS.listIdentities, [], query, options);
  }

  /** Link a Google / Microsoft identity to you — `POST /v1/me/identities` (startIdentityLink) */
  create(body: BodyOf<'startIdentityLink'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'startIdentityLink'>>> {
    return this._transport.call(OPERATIONS.startIdentityLink, [], body, options) as Promise<WithResponse<ResultOf<'startIdentityLink'>>>;
  }

  /** Unlink one of your identities — `DELETE /v1/me/identities/{id}` (unlinkIdentity) */
  delete(id: string, options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.unlinkIdentity, [id], undefined, options) as Promise<void>;
  }
}

/** `coffer.me` */
export class Me extends Resource {
  readonly identities: MeIdentities;

  constructor(transport: Transport) {
    super(transport);
    this.identities = new MeIdentities(transport);
  }

  /** Who am I: the caller's user, account and credential — `GET /v1/me` (getMe) */
  get(options?: RequestOptions): Promise<WithResponse<ResultOf<'getMe'>>> {
    return this._transport.call(OPERATIONS.getMe, [], undefined, options) as Promise<WithResponse<ResultOf<'getMe'>>>;
  }

  /** Change your password — `POST /v1/me/password` (changePassword) */
  changePassword(body: BodyOf<'changePassword'>, options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.changePassword, [], body, options) as Promise<void>;
  }

  /** Your two-factor authentication state — `GET /v1/me/2fa` (getTwoFactor) */
  getTwoFactor(options?: RequestOptions): Promise<WithResponse<ResultOf<'getTwoFactor'>>> {
    return this._transport.call(OPERATIONS.getTwoFactor, [], undefined, options) as Promise<WithResponse<ResultOf<'getTwoFactor'>>>;
  }

  /** Set up two-factor authentication (TOTP) — `POST /v1/me/2fa` (setUpTwoFactor) */
  setUpTwoFactor(options?: RequestOptions): Promise<WithResponse<ResultOf<'setUpTwoFactor'>>> {
    return this._transport.call(OPERATIONS.setUpTwoFactor, [], undefined, options) as Promise<WithResponse<ResultOf<'setUpTwoFactor'>>>;
  }

  /** Disable two-factor authentication — `DELETE /v1/me/2fa` (disableTwoFactor) */
  disableTwoFactor(body: BodyOf<'disableTwoFactor'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'disableTwoFactor'>>> {
    return this._transport.call(OPERATIONS.disableTwoFactor, [], body, options) as Promise<WithResponse<ResultOf<'disableTwoFactor'>>>;
  }

  /** Enable two-factor authentication with a first code — `POST /v1/me/2fa/confirm` (confirmTwoFactor) */
  confirmTwoFactor(body: BodyOf<'confirmTwoFactor'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'confirmTwoFactor'>>> {
    return this._transport.call(OPERATIONS.confirmTwoFactor, [], body, options) as Promise<WithResponse<ResultOf<'confirmTwoFactor'>>>;
  }
}

/** `coffer.account.partnerInvitations` */
export class AccountPartnerInvitations extends Resource {
  /** List partners' invitations to manage this account — `GET /v1/account/partner-invitations` (listReceivedPartnerInvitations) */
  list(query?: QueryOf<'listReceivedPartnerInvitations'>, options?: RequestOptions): PagePromise<ItemOf<'listReceivedPartnerInvitations'>> {
    return this._transport.list(OPERATIONS.listReceivedPartnerInvitations, [], query, options);
  }

  /** Let a partner manage this account — `POST /v1/account/partner-invitations/{id}/accept` (acceptPartnerInvitation) */
  accept(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'acceptPartnerInvitation'>>> {
    return this._transport.call(OPERATIONS.acceptPartnerInvitation, [id], undefined, options) as Promise<WithResponse<ResultOf<'acceptPartnerInvitation'>>>;
  }

  /** Decline a partner's invitation — `POST /v1/account/partner-invitations/{id}/decline` (declinePartnerInvitation) */
  decline(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'declinePartnerInvitation'>>> {
    return this._transport.call(OPERATIONS.declinePartnerInvitation, [id], undefined, options) as Promise<WithResponse<ResultOf<'declinePartnerInvitation'>>>;
  }
}

/** `coffer.account` */
export class Account extends Resource {
  readonly partnerInvitations: AccountPartnerInvitations;

  constructor(transport: Transport) {
    super(transport);
    this.partnerInvitations = new AccountPartnerInvitations(transport);
  }

  /** Get the account — `GET /v1/account` (getAccount) */
  get(options?: RequestOptions): Promise<WithResponse<ResultOf<'getAccount'>>> {
    return this._transport.call(OPERATIONS.getAccount, [], undefined, options) as Promise<WithResponse<ResultOf<'getAccount'>>>;
  }

  /** Change the account name — `PATCH /v1/account` (updateAccount) */
  update(body: BodyOf<'updateAccount'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateAccount'>>> {
    return this._transport.call(OPERATIONS.updateAccount, [], body, options) as Promise<WithResponse<ResultOf<'updateAccount'>>>;
  }

  /** Get the pending change of the account email — `GET /v1/account/email-change` (getAccountEmailChange) */
  getEmailChange(options?: RequestOptions): Promise<WithResponse<ResultOf<'getAccountEmailChange'>>> {
    return this._transport.call(OPERATIONS.getAccountEmailChange, [], undefined, options) as Promise<WithResponse<ResultOf<'getAccountEmailChange'>>>;
  }

  /** Change the account email (confirmed by the new address) — `POST /v1/account/email-change` (requestAccountEmailChange) */
  requestEmailChange(body: BodyOf<'requestAccountEmailChange'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'requestAccountEmailChange'>>> {
    return this._transport.call(OPERATIONS.requestAccountEmailChange, [], body, options) as Promise<WithResponse<ResultOf<'requestAccountEmailChange'>>>;
  }

  /** Discard the pending email change — `DELETE /v1/account/email-change` (discardAccountEmailChange) */
  discardEmailChange(options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.discardAccountEmailChange, [], undefined, options) as Promise<void>;
  }

  /** Resend the email-change confirmation — `POST /v1/account/email-change/resend` (resendAccountEmailChange) */
  resendEmailChange(options?: RequestOptions): Promise<WithResponse<ResultOf<'resendAccountEmailChange'>>> {
    return this._transport.call(OPERATIONS.resendAccountEmailChange, [], undefined, options) as Promise<WithResponse<ResultOf<'resendAccountEmailChange'>>>;
  }

  /** Confirm the new account email with the emailed token — `POST /v1/account/email-change/confirm` (confirmAccountEmailChange) */
  confirmEmailChange(body: BodyOf<'confirmAccountEmailChange'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'confirmAccountEmailChange'>>> {
    return this._transport.call(OPERATIONS.confirmAccountEmailChange, [], body, options) as Promise<WithResponse<ResultOf<'confirmAccountEmailChange'>>>;
  }

  /** Remove the account (7-day grace period, then everything is erased) — `POST /v1/account/removal` (removeAccount) */
  remove(body: BodyOf<'removeAccount'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'removeAccount'>>> {
    return this._transport.call(OPERATIONS.removeAccount, [], body, options) as Promise<WithResponse<ResultOf<'removeAccount'>>>;
  }

  /** Undo the removal of the account within its grace period — `DELETE /v1/account/removal` (undoAccountRemoval) */
  undoRemoval(options?: RequestOptions): Promise<WithResponse<ResultOf<'undoAccountRemoval'>>> {
    return this._transport.call(OPERATIONS.undoAccountRemoval, [], undefined, options) as Promise<WithResponse<ResultOf<'undoAccountRemoval'>>>;
  }

  /** Withdraw the partner's access to this account — `DELETE /v1/account/partner` (revokePartner) */
  revokePartner(options?: RequestOptions): Promise<WithResponse<ResultOf<'revokePartner'>>> {
    return this._transport.call(OPERATIONS.revokePartner, [], undefined, options) as Promise<WithResponse<ResultOf<'revokePartner'>>>;
  }
}

/** `coffer.regions` */
export class Regions extends Resource {
  /** List the data-center regions an account can choose — `GET /v1/regions` (listRegions) */
  list(options?: RequestOptions): Promise<WithResponse<ResultOf<'listRegions'>>> {
    return this._transport.call(OPERATIONS.listRegions, [], undefined, options) as Promise<WithResponse<ResultOf<'listRegions'>>>;
  }
}

/** `coffer.apiKeys` */
export class ApiKeys extends Resource {
  /** List API keys — `GET /v1/api-keys` (listApiKeys) */
  list(query?: QueryOf<'listApiKeys'>, options?: RequestOptions): PagePromise<ItemOf<'listApiKeys'>> {
    return this._transport.list(OPERATIONS.listApiKeys, [], query, options);
  }

  /** Create an API key for yourself — `POST /v1/api-keys` (createApiKey) */
  create(body: BodyOf<'createApiKey'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createApiKey'>>> {
    return this._transport.call(OPERATIONS.createApiKey, [], body, options) as Promise<WithResponse<ResultOf<'createApiKey'>>>;
  }

  /** Get an API key — `GET /v1/api-keys/{id}` (getApiKey) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getApiKey'>>> {
    return this._transport.call(OPERATIONS.getApiKey, [id], undefined, options) as Promise<WithResponse<ResultOf<'getApiKey'>>>;
  }

  /** Rename an API key — `PATCH /v1/api-keys/{id}` (updateApiKey) */
  update(id: string, body: BodyOf<'updateApiKey'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateApiKey'>>> {
    return this._transport.call(OPERATIONS.updateApiKey, [id], body, options) as Promise<WithResponse<ResultOf<'updateApiKey'>>>;
  }

  /** Revoke an API key — `DELETE /v1/api-keys/{id}` (revokeApiKey) */
  delete(id: string, options?: UpdateOptions): Promise<WithResponse<ResultOf<'revokeApiKey'>>> {
    return this._transport.call(OPERATIONS.revokeApiKey, [id], undefined, options) as Promise<WithResponse<ResultOf<'revokeApiKey'>>>;
  }
}

/** `coffer.tasks` */
export class Tasks extends Resource {
  /** List backup tasks — `GET /v1/tasks` (listTasks) */
  list(query?: QueryOf<'listTasks'>, options?: RequestOptions): PagePromise<ItemOf<'listTasks'>> {
    return this._transport.list(OPERATIONS.listTasks, [], query, options);
  }

  /** Create a backup task (connect a Dropbox team) — `POST /v1/tasks` (createTask) */
  create(body: BodyOf<'createTask'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createTask'>>> {
    return this._transport.call(OPERATIONS.createTask, [], body, options) as Promise<WithResponse<ResultOf<'createTask'>>>;
  }

  /** Get a backup task — `GET /v1/tasks/{id}` (getTask) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getTask'>>> {
    return this._transport.call(OPERATIONS.getTask, [id], undefined, options) as Promise<WithResponse<ResultOf<'getTask'>>>;
  }

  /** Change a task's name and backup settings — `PATCH /v1/tasks/{id}` (updateTask) */
  update(id: string, body: BodyOf<'updateTask'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateTask'>>> {
    return this._transport.call(OPERATIONS.updateTask, [id], body, options) as Promise<WithResponse<ResultOf<'updateTask'>>>;
  }

  /** Delete a backup task (7-day grace period) — `DELETE /v1/tasks/{id}` (deleteTask) */
  delete(id: string, options?: UpdateOptions): Promise<WithResponse<ResultOf<'deleteTask'>>> {
    return this._transport.call(OPERATIONS.deleteTask, [id], undefined, options) as Promise<WithResponse<ResultOf<'deleteTask'>>>;
  }

  /** Bring back a deleted task within its grace period — `POST /v1/tasks/{id}/undelete` (undeleteTask) */
  undelete(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'undeleteTask'>>> {
    return this._transport.call(OPERATIONS.undeleteTask, [id], undefined, options) as Promise<WithResponse<ResultOf<'undeleteTask'>>>;
  }

  /** Get a new Dropbox authorization URL for a task — `POST /v1/tasks/{id}/reconnect` (reconnectTask) */
  reconnect(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'reconnectTask'>>> {
    return this._transport.call(OPERATIONS.reconnectTask, [id], undefined, options) as Promise<WithResponse<ResultOf<'reconnectTask'>>>;
  }

  /** Discover the team's users and team folders now — `POST /v1/tasks/{id}/discover` (discoverTask) */
  discover(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'discoverTask'>>> {
    return this._transport.call(OPERATIONS.discoverTask, [id], undefined, options) as Promise<WithResponse<ResultOf<'discoverTask'>>>;
  }

  /** Pause every backup of a task — `POST /v1/tasks/{id}/pause` (pauseTask) */
  pause(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'pauseTask'>>> {
    return this._transport.call(OPERATIONS.pauseTask, [id], undefined, options) as Promise<WithResponse<ResultOf<'pauseTask'>>>;
  }

  /** Resume a paused task — `POST /v1/tasks/{id}/resume` (resumeTask) */
  resume(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'resumeTask'>>> {
    return this._transport.call(OPERATIONS.resumeTask, [id], undefined, options) as Promise<WithResponse<ResultOf<'resumeTask'>>>;
  }

  /** A task at a glance: entities by status, protected data, failures, alerts — `GET /v1/tasks/{id}/overview` (getTaskOverview) */
  getOverview(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getTaskOverview'>>> {
    return this._transport.call(OPERATIONS.getTaskOverview, [id], undefined, options) as Promise<WithResponse<ResultOf<'getTaskOverview'>>>;
  }
}

/** `coffer.oauth` */
export class Oauth extends Resource {
  /** Confirmation page before Dropbox (the task's authorize_url) — `GET /v1/oauth/dropbox/authorize` (confirmDropboxAuthorizationPage) */
  confirmDropboxAuthorizationPage(query?: QueryOf<'confirmDropboxAuthorizationPage'>, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.confirmDropboxAuthorizationPage, [], query, options) as Promise<Response>;
  }

  /** Continue from the confirmation page to Dropbox — `POST /v1/oauth/dropbox/authorize` (confirmDropboxAuthorization) */
  confirmDropboxAuthorization(body: BodyOf<'confirmDropboxAuthorization'>, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.confirmDropboxAuthorization, [], body, options) as Promise<Response>;
  }

  /** Dropbox OAuth redirect target — `GET /v1/oauth/dropbox/callback` (dropboxOAuthCallback) */
  dropboxCallback(query?: QueryOf<'dropboxOAuthCallback'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'dropboxOAuthCallback'>>> {
    return this._transport.call(OPERATIONS.dropboxOAuthCallback, [], query, options) as Promise<WithResponse<ResultOf<'dropboxOAuthCallback'>>>;
  }
}

/** `coffer.entities` */
export class Entities extends Resource {
  /** List users and team folders — `GET /v1/entities` (listEntities) */
  list(query?: QueryOf<'listEntities'>, options?: RequestOptions): PagePromise<ItemOf<'listEntities'>> {
    return this._transport.list(OPERATIONS.listEntities, [], query, options);
  }

  /** Get a user or team folder — `GET /v1/entities/{id}` (getEntity) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getEntity'>>> {
    return this._transport.call(OPERATIONS.getEntity, [id], undefined, options) as Promise<WithResponse<ResultOf<'getEntity'>>>;
  }

  /** Activate, pause, back up now, delete or tag many entities — `POST /v1/entities/actions` (applyEntityAction) */
  applyAction(body: BodyOf<'applyEntityAction'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'applyEntityAction'>>> {
    return this._transport.call(OPERATIONS.applyEntityAction, [], body, options) as Promise<WithResponse<ResultOf<'applyEntityAction'>>>;
  }

  /** Bring back a deleted entity within its grace period — `POST /v1/entities/{id}/undelete` (undeleteEntity) */
  undelete(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'undeleteEntity'>>> {
    return this._transport.call(OPERATIONS.undeleteEntity, [id], undefined, options) as Promise<WithResponse<ResultOf<'undeleteEntity'>>>;
  }

  /** Backup history of a user or team folder, per day — `GET /v1/entities/{id}/history` (getEntityHistory) */
  getHistory(id: string, query?: QueryOf<'getEntityHistory'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'getEntityHistory'>>> {
    return this._transport.call(OPERATIONS.getEntityHistory, [id], query, options) as Promise<WithResponse<ResultOf<'getEntityHistory'>>>;
  }

  /** Start a restore drill of an entity's latest snapshot — `POST /v1/entities/{id}/verifications` (startVerification) */
  startVerification(id: string, body: BodyOf<'startVerification'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'startVerification'>>> {
    return this._transport.call(OPERATIONS.startVerification, [id], body, options) as Promise<WithResponse<ResultOf<'startVerification'>>>;
  }
}

/** `coffer.tags` */
export class Tags extends Resource {
  /** List tags — `GET /v1/tags` (listTags) */
  list(query?: QueryOf<'listTags'>, options?: RequestOptions): PagePromise<ItemOf<'listTags'>> {
    return this._transport.list(OPERATIONS.listTags, [], query, options);
  }

  /** Create a tag — `POST /v1/tags` (createTag) */
  create(body: BodyOf<'createTag'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createTag'>>> {
    return this._transport.call(OPERATIONS.createTag, [], body, options) as Promise<WithResponse<ResultOf<'createTag'>>>;
  }

  /** Get a tag — `GET /v1/tags/{id}` (getTag) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getTag'>>> {
    return this._transport.call(OPERATIONS.getTag, [id], undefined, options) as Promise<WithResponse<ResultOf<'getTag'>>>;
  }

  /** Rename a tag — `PATCH /v1/tags/{id}` (updateTag) */
  update(id: string, body: BodyOf<'updateTag'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateTag'>>> {
    return this._transport.call(OPERATIONS.updateTag, [id], body, options) as Promise<WithResponse<ResultOf<'updateTag'>>>;
  }

  /** Delete a tag (it is removed from every entity) — `DELETE /v1/tags/{id}` (deleteTag) */
  delete(id: string, options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.deleteTag, [id], undefined, options) as Promise<void>;
  }
}

/** `coffer.users` */
export class Users extends Resource {
  /** List users — `GET /v1/users` (listUsers) */
  list(query?: QueryOf<'listUsers'>, options?: RequestOptions): PagePromise<ItemOf<'listUsers'>> {
    return this._transport.list(OPERATIONS.listUsers, [], query, options);
  }

  /** Invite a user — `POST /v1/users` (inviteUser) */
  create(body: BodyOf<'inviteUser'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'inviteUser'>>> {
    return this._transport.call(OPERATIONS.inviteUser, [], body, options) as Promise<WithResponse<ResultOf<'inviteUser'>>>;
  }

  /** Check an email confirmation link — `GET /v1/users/confirm` (inspectUserConfirmation) */
  inspectConfirmation(query: QueryOf<'inspectUserConfirmation'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'inspectUserConfirmation'>>> {
    return this._transport.call(OPERATIONS.inspectUserConfirmation, [], query, options) as Promise<WithResponse<ResultOf<'inspectUserConfirmation'>>>;
  }

  /** Confirm an invitation and set a password — `POST /v1/users/confirm` (confirmUser) */
  confirm(body: BodyOf<'confirmUser'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'confirmUser'>>> {
    return this._transport.call(OPERATIONS.confirmUser, [], body, options) as Promise<WithResponse<ResultOf<'confirmUser'>>>;
  }

  /** Get a user — `GET /v1/users/{id}` (getUser) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getUser'>>> {
    return this._transport.call(OPERATIONS.getUser, [id], undefined, options) as Promise<WithResponse<ResultOf<'getUser'>>>;
  }

  /** Change a user's name, role, permissions or services — `PATCH /v1/users/{id}` (updateUser) */
  update(id: string, body: BodyOf<'updateUser'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateUser'>>> {
    return this._transport.call(OPERATIONS.updateUser, [id], body, options) as Promise<WithResponse<ResultOf<'updateUser'>>>;
  }

  /** Remove a user — `DELETE /v1/users/{id}` (deleteUser) */
  delete(id: string, options?: UpdateOptions): Promise<void> {
    return this._transport.call(OPERATIONS.deleteUser, [id], undefined, options) as Promise<void>;
  }

  /** Deactivate a user — `POST /v1/users/{id}/deactivate` (deactivateUser) */
  deactivate(id: string, options?: UpdateOptions): Promise<WithResponse<ResultOf<'deactivateUser'>>> {
    return this._transport.call(OPERATIONS.deactivateUser, [id], undefined, options) as Promise<WithResponse<ResultOf<'deactivateUser'>>>;
  }

  /** Reactivate a user — `POST /v1/users/{id}/reactivate` (reactivateUser) */
  reactivate(id: string, options?: UpdateOptions): Promise<WithResponse<ResultOf<'reactivateUser'>>> {
    return this._transport.call(OPERATIONS.reactivateUser, [id], undefined, options) as Promise<WithResponse<ResultOf<'reactivateUser'>>>;
  }

  /** Resend the email confirmation — `POST /v1/users/{id}/resend-confirmation` (resendUserConfirmation) */
  resendConfirmation(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'resendUserConfirmation'>>> {
    return this._transport.call(OPERATIONS.resendUserConfirmation, [id], undefined, options) as Promise<WithResponse<ResultOf<'resendUserConfirmation'>>>;
  }
}

/** `coffer.sessions` */
export class Sessions extends Resource {
  /** List your sessions — `GET /v1/sessions` (listSessions) */
  list(query?: QueryOf<'listSessions'>, options?: RequestOptions): PagePromise<ItemOf<'listSessions'>> {
    return this._transport.list(OPERATIONS.listSessions, [], query, options);
  }

  /** Sign in: start a session — `POST /v1/sessions` (signIn) */
  create(body: BodyOf<'signIn'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'signIn'>>> {
    return this._transport.call(OPERATIONS.signIn, [], body, options) as Promise<WithResponse<ResultOf<'signIn'>>>;
  }

  /** Sign out: end the current session — `DELETE /v1/sessions/current` (signOut) */
  signOut(options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.signOut, [], undefined, options) as Promise<void>;
  }

  /** End one of your sessions — `DELETE /v1/sessions/{id}` (revokeSession) */
  delete(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'revokeSession'>>> {
    return this._transport.call(OPERATIONS.revokeSession, [id], undefined, options) as Promise<WithResponse<ResultOf<'revokeSession'>>>;
  }
}

/** `coffer.passwordReset` */
export class PasswordReset extends Resource {
  /** Ask for a password reset link — `POST /v1/password-reset` (requestPasswordReset) */
  request(body: BodyOf<'requestPasswordReset'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'requestPasswordReset'>>> {
    return this._transport.call(OPERATIONS.requestPasswordReset, [], body, options) as Promise<WithResponse<ResultOf<'requestPasswordReset'>>>;
  }

  /** Check a password reset link — `GET /v1/password-reset/complete` (inspectPasswordReset) */
  inspect(query: QueryOf<'inspectPasswordReset'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'inspectPasswordReset'>>> {
    return this._transport.call(OPERATIONS.inspectPasswordReset, [], query, options) as Promise<WithResponse<ResultOf<'inspectPasswordReset'>>>;
  }

  /** Set a new password with a reset link or change token — `POST /v1/password-reset/complete` (completePasswordReset) */
  complete(body: BodyOf<'completePasswordReset'>, options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.completePasswordReset, [], body, options) as Promise<void>;
  }
}

/** `coffer.security` */
export class Security extends Resource {
  /** Get the account's security policy — `GET /v1/security/policy` (getSecurityPolicy) */
  getPolicy(options?: RequestOptions): Promise<WithResponse<ResultOf<'getSecurityPolicy'>>> {
    return this._transport.call(OPERATIONS.getSecurityPolicy, [], undefined, options) as Promise<WithResponse<ResultOf<'getSecurityPolicy'>>>;
  }

  /** Change the security policy (enforce 2FA, password expiration) — `PATCH /v1/security/policy` (updateSecurityPolicy) */
  updatePolicy(body: BodyOf<'updateSecurityPolicy'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateSecurityPolicy'>>> {
    return this._transport.call(OPERATIONS.updateSecurityPolicy, [], body, options) as Promise<WithResponse<ResultOf<'updateSecurityPolicy'>>>;
  }

  /** Get the SAML single sign-on settings — `GET /v1/security/saml` (getSamlSettings) */
  getSamlSettings(options?: RequestOptions): Promise<WithResponse<ResultOf<'getSamlSettings'>>> {
    return this._transport.call(OPERATIONS.getSamlSettings, [], undefined, options) as Promise<WithResponse<ResultOf<'getSamlSettings'>>>;
  }

  /** Configure, activate or deactivate SAML single sign-on — `PUT /v1/security/saml` (updateSamlSettings) */
  updateSamlSettings(body: BodyOf<'updateSamlSettings'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateSamlSettings'>>> {
    return this._transport.call(OPERATIONS.updateSamlSettings, [], body, options) as Promise<WithResponse<ResultOf<'updateSamlSettings'>>>;
  }
}

/** `coffer.ipAllowlist.entries` */
export class IpAllowlistEntries extends Resource {
  /** List trusted addresses — `GET /v1/ip-allowlist/entries` (listIpAllowlistEntries) */
  list(query?: QueryOf<'listIpAllowlistEntries'>, options?: RequestOptions): PagePromise<ItemOf<'listIpAllowlistEntries'>> {
    return this._transport.list(OPERATIONS.listIpAllowlistEntries, [], query, options);
  }

  /** Add trusted addresses — `POST /v1/ip-allowlist/entries` (createIpAllowlistEntry) */
  create(body: BodyOf<'createIpAllowlistEntry'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createIpAllowlistEntry'>>> {
    return this._transport.call(OPERATIONS.createIpAllowlistEntry, [], body, options) as Promise<WithResponse<ResultOf<'createIpAllowlistEntry'>>>;
  }

  /** Get a trusted-address entry — `GET /v1/ip-allowlist/entries/{id}` (getIpAllowlistEntry) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getIpAllowlistEntry'>>> {
    return this._transport.call(OPERATIONS.getIpAllowlistEntry, [id], undefined, options) as Promise<WithResponse<ResultOf<'getIpAllowlistEntry'>>>;
  }

  /** Change a trusted-address entry — `PATCH /v1/ip-allowlist/entries/{id}` (updateIpAllowlistEntry) */
  update(id: string, body: BodyOf<'updateIpAllowlistEntry'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateIpAllowlistEntry'>>> {
    return this._transport.call(OPERATIONS.updateIpAllowlistEntry, [id], body, options) as Promise<WithResponse<ResultOf<'updateIpAllowlistEntry'>>>;
  }

  /** Remove a trusted-address entry — `DELETE /v1/ip-allowlist/entries/{id}` (deleteIpAllowlistEntry) */
  delete(id: string, options?: UpdateOptions): Promise<void> {
    return this._transport.call(OPERATIONS.deleteIpAllowlistEntry, [id], undefined, options) as Promise<void>;
  }
}

/** `coffer.ipAllowlist` */
export class IpAllowlist extends Resource {
  readonly entries: IpAllowlistEntries;

  constructor(transport: Transport) {
    super(transport);
    this.entries = new IpAllowlistEntries(transport);
  }

  /** Get the IP restrictions switch and your address — `GET /v1/ip-allowlist` (getIpAllowlist) */
  get(options?: RequestOptions): Promise<WithResponse<ResultOf<'getIpAllowlist'>>> {
    return this._transport.call(OPERATIONS.getIpAllowlist, [], undefined, options) as Promise<WithResponse<ResultOf<'getIpAllowlist'>>>;
  }

  /** Enable or disable IP restrictions — `PATCH /v1/ip-allowlist` (updateIpAllowlist) */
  update(body: BodyOf<'updateIpAllowlist'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateIpAllowlist'>>> {
    return this._transport.call(OPERATIONS.updateIpAllowlist, [], body, options) as Promise<WithResponse<ResultOf<'updateIpAllowlist'>>>;
  }
}

/** `coffer.audit` */
export class Audit extends Resource {
  /** List security audit events — `GET /v1/audit` (listAuditEvents) */
  list(query?: QueryOf<'listAuditEvents'>, options?: RequestOptions): PagePromise<ItemOf<'listAuditEvents'>> {
    return this._transport.list(OPERATIONS.listAuditEvents, [], query, options);
  }

  /** Verify the audit log's hash chain — `GET /v1/audit/verify` (verifyAuditChain) */
  verifyChain(options?: RequestOptions): Promise<WithResponse<ResultOf<'verifyAuditChain'>>> {
    return this._transport.call(OPERATIONS.verifyAuditChain, [], undefined, options) as Promise<WithResponse<ResultOf<'verifyAuditChain'>>>;
  }

  /** Get a security audit event — `GET /v1/audit/{id}` (getAuditEvent) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getAuditEvent'>>> {
    return this._transport.call(OPERATIONS.getAuditEvent, [id], undefined, options) as Promise<WithResponse<ResultOf<'getAuditEvent'>>>;
  }
}

/** `coffer.snapshots` */
export class Snapshots extends Resource {
  /** List the snapshots of a user or team folder — `GET /v1/entities/{id}/snapshots` (listSnapshots) */
  list(entityId: string, query?: QueryOf<'listSnapshots'>, options?: RequestOptions): PagePromise<ItemOf<'listSnapshots'>> {
    return this._transport.list(OPERATIONS.listSnapshots, [entityId], query, options);
  }

  /** Get a snapshot — `GET /v1/snapshots/{id}` (getSnapshot) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getSnapshot'>>> {
    return this._transport.call(OPERATIONS.getSnapshot, [id], undefined, options) as Promise<WithResponse<ResultOf<'getSnapshot'>>>;
  }
}

/** `coffer.items` */
export class Items extends Resource {
  /** Browse a folder as it was in a snapshot — `GET /v1/snapshots/{id}/items` (listSnapshotItems) */
  list(snapshotId: string, query?: QueryOf<'listSnapshotItems'>, options?: RequestOptions): PagePromise<ItemOf<'listSnapshotItems'>> {
    return this._transport.list(OPERATIONS.listSnapshotItems, [snapshotId], query, options);
  }

  /** Get an item of a snapshot and its versions — `GET /v1/snapshots/{id}/items/{item}` (getSnapshotItem) */
  get(snapshotId: string, item: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getSnapshotItem'>>> {
    return this._transport.call(OPERATIONS.getSnapshotItem, [snapshotId, item], undefined, options) as Promise<WithResponse<ResultOf<'getSnapshotItem'>>>;
  }

  /** Search backed-up files and folders — `GET /v1/items` (searchItems) */
  search(query?: QueryOf<'searchItems'>, options?: RequestOptions): PagePromise<ItemOf<'searchItems'>> {
    return this._transport.list(OPERATIONS.searchItems, [], query, options);
  }
}

/** `coffer.runs` */
export class Runs extends Resource {
  /** List every backup run of a user or team folder — `GET /v1/entities/{id}/runs` (listBackupRuns) */
  list(entityId: string, query?: QueryOf<'listBackupRuns'>, options?: RequestOptions): PagePromise<ItemOf<'listBackupRuns'>> {
    return this._transport.list(OPERATIONS.listBackupRuns, [entityId], query, options);
  }

  /** Get a backup run — `GET /v1/runs/{id}` (getBackupRun) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getBackupRun'>>> {
    return this._transport.call(OPERATIONS.getBackupRun, [id], undefined, options) as Promise<WithResponse<ResultOf<'getBackupRun'>>>;
  }
}

/** `coffer.saml` */
export class Saml extends Resource {
  /** Coffer's SAML service-provider metadata for an account — `GET /v1/saml/{account_id}/metadata` (getSamlServiceProviderMetadata) */
  getServiceProviderMetadata(accountId: string, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.getSamlServiceProviderMetadata, [accountId], undefined, options) as Promise<Response>;
  }

  /** SP-initiated SAML sign-in: redirect to the identity provider — `GET /v1/saml/{account_id}/login` (startSamlSignIn) */
  startSignIn(accountId: string, query?: QueryOf<'startSamlSignIn'>, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.startSamlSignIn, [accountId], query, options) as Promise<Response>;
  }

  /** Assertion consumer service: sign in with the identity provider's SAML response — `POST /v1/saml/{account_id}/acs` (consumeSamlResponse) */
  consumeResponse(accountId: string, body: BodyOf<'consumeSamlResponse'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'consumeSamlResponse'>>> {
    return this._transport.call(OPERATIONS.consumeSamlResponse, [accountId], body, options) as Promise<WithResponse<ResultOf<'consumeSamlResponse'>>>;
  }

  /** Finish a SAML sign-in with a TOTP code — `POST /v1/saml/{account_id}/two-factor` (completeSamlTwoFactor) */
  completeTwoFactor(accountId: string, body: BodyOf<'completeSamlTwoFactor'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'completeSamlTwoFactor'>>> {
    return this._transport.call(OPERATIONS.completeSamlTwoFactor, [accountId], body, options) as Promise<WithResponse<ResultOf<'completeSamlTwoFactor'>>>;
  }
}

/** `coffer.notifications.reports` */
export class NotificationsReports extends Resource {
  /** Download a summary report (the signed link from the report email) — `GET /v1/notifications/reports/{id}/download` (downloadSummaryReport) */
  download(id: string, query: QueryOf<'downloadSummaryReport'>, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.downloadSummaryReport, [id], query, options) as Promise<Response>;
  }
}

/** `coffer.notifications.recipients` */
export class NotificationsRecipients extends Resource {
  /** List notification recipients — `GET /v1/notifications/recipients` (listNotificationRecipients) */
  list(query?: QueryOf<'listNotificationRecipients'>, options?: RequestOptions): PagePromise<ItemOf<'listNotificationRecipients'>> {
    return this._transport.list(OPERATIONS.listNotificationRecipients, [], query, options);
  }

  /** Add a notification recipient — `POST /v1/notifications/recipients` (createNotificationRecipient) */
  create(body: BodyOf<'createNotificationRecipient'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createNotificationRecipient'>>> {
    return this._transport.call(OPERATIONS.createNotificationRecipient, [], body, options) as Promise<WithResponse<ResultOf<'createNotificationRecipient'>>>;
  }

  /** Get a notification recipient — `GET /v1/notifications/recipients/{id}` (getNotificationRecipient) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getNotificationRecipient'>>> {
    return this._transport.call(OPERATIONS.getNotificationRecipient, [id], undefined, options) as Promise<WithResponse<ResultOf<'getNotificationRecipient'>>>;
  }

  /** Change a notification recipient — `PATCH /v1/notifications/recipients/{id}` (updateNotificationRecipient) */
  update(id: string, body: BodyOf<'updateNotificationRecipient'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateNotificationRecipient'>>> {
    return this._transport.call(OPERATIONS.updateNotificationRecipient, [id], body, options) as Promise<WithResponse<ResultOf<'updateNotificationRecipient'>>>;
  }

  /** Remove a notification recipient — `DELETE /v1/notifications/recipients/{id}` (deleteNotificationRecipient) */
  delete(id: string, options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.deleteNotificationRecipient, [id], undefined, options) as Promise<void>;
  }
}

/** `coffer.notifications` */
export class Notifications extends Resource {
  readonly reports: NotificationsReports;
  readonly recipients: NotificationsRecipients;

  constructor(transport: Transport) {
    super(transport);
    this.reports = new NotificationsReports(transport);
    this.recipients = new NotificationsRecipients(transport);
  }

  /** Get the notification settings (summary report, smart-alert thresholds) — `GET /v1/notifications/settings` (getNotificationSettings) */
  getSettings(options?: RequestOptions): Promise<WithResponse<ResultOf<'getNotificationSettings'>>> {
    return this._transport.call(OPERATIONS.getNotificationSettings, [], undefined, options) as Promise<WithResponse<ResultOf<'getNotificationSettings'>>>;
  }

  /** Change the notification settings — `PATCH /v1/notifications/settings` (updateNotificationSettings) */
  updateSettings(body: BodyOf<'updateNotificationSettings'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateNotificationSettings'>>> {
    return this._transport.call(OPERATIONS.updateNotificationSettings, [], body, options) as Promise<WithResponse<ResultOf<'updateNotificationSettings'>>>;
  }

  /** Send the summary report for the last complete period now — `POST /v1/notifications/summary-report` (sendSummaryReport) */
  sendSummaryReport(options?: RequestOptions): Promise<WithResponse<ResultOf<'sendSummaryReport'>>> {
    return this._transport.call(OPERATIONS.sendSummaryReport, [], undefined, options) as Promise<WithResponse<ResultOf<'sendSummaryReport'>>>;
  }

  /** Preview the summary report as CSV (the seed's "Preview") — `GET /v1/notifications/summary-report/preview` (previewSummaryReport) */
  previewSummaryReport(query?: QueryOf<'previewSummaryReport'>, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.previewSummaryReport, [], query, options) as Promise<Response>;
  }
}

/** `coffer.webhooks.deliveries` */
export class WebhooksDeliveries extends Resource {
  /** Send a delivery's event again (same event id and body, a new delivery with fresh attempts) — `POST /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver` (redeliverWebhook) */
  redeliver(webhookId: string, deliveryId: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'redeliverWebhook'>>> {
    return this._transport.call(OPERATIONS.redeliverWebhook, [webhookId, deliveryId], undefined, options) as Promise<WithResponse<ResultOf<'redeliverWebhook'>>>;
  }

  /** The delivery log of an endpoint, newest first, with every attempt and status code — `GET /v1/webhooks/{id}/deliveries` (listWebhookDeliveries) */
  list(webhookId: string, query?: QueryOf<'listWebhookDeliveries'>, options?: RequestOptions): PagePromise<ItemOf<'listWebhookDeliveries'>> {
    return this._transport.list(OPERATIONS.listWebhookDeliveries, [webhookId], query, options);
  }
}

/** `coffer.webhooks` */
export class Webhooks extends Resource {
  readonly deliveries: WebhooksDeliveries;

  constructor(transport: Transport) {
    super(transport);
    this.deliveries = new WebhooksDeliveries(transport);
  }

  /** List webhook endpoints — `GET /v1/webhooks` (listWebhookEndpoints) */
  list(query?: QueryOf<'listWebhookEndpoints'>, options?: RequestOptions): PagePromise<ItemOf<'listWebhookEndpoints'>> {
    return this._transport.list(OPERATIONS.listWebhookEndpoints, [], query, options);
  }

  /** Create a webhook endpoint (its signing secret is shown once, here) — `POST /v1/webhooks` (createWebhookEndpoint) */
  create(body: BodyOf<'createWebhookEndpoint'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createWebhookEndpoint'>>> {
    return this._transport.call(OPERATIONS.createWebhookEndpoint, [], body, options) as Promise<WithResponse<ResultOf<'createWebhookEndpoint'>>>;
  }

  /** Get a webhook endpoint — `GET /v1/webhooks/{id}` (getWebhookEndpoint) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getWebhookEndpoint'>>> {
    return this._transport.call(OPERATIONS.getWebhookEndpoint, [id], undefined, options) as Promise<WithResponse<ResultOf<'getWebhookEndpoint'>>>;
  }

  /** Change a webhook endpoint (URL, events, description; enable or disable it) — `PATCH /v1/webhooks/{id}` (updateWebhookEndpoint) */
  update(id: string, body: BodyOf<'updateWebhookEndpoint'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateWebhookEndpoint'>>> {
    return this._transport.call(OPERATIONS.updateWebhookEndpoint, [id], body, options) as Promise<WithResponse<ResultOf<'updateWebhookEndpoint'>>>;
  }

  /** Delete a webhook endpoint and its delivery log — `DELETE /v1/webhooks/{id}` (deleteWebhookEndpoint) */
  delete(id: string, options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.deleteWebhookEndpoint, [id], undefined, options) as Promise<void>;
  }

  /** Replace the signing secret (the new one is shown once, here) — `POST /v1/webhooks/{id}/rotate-secret` (rotateWebhookSecret) */
  rotateSecret(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'rotateWebhookSecret'>>> {
    return this._transport.call(OPERATIONS.rotateWebhookSecret, [id], undefined, options) as Promise<WithResponse<ResultOf<'rotateWebhookSecret'>>>;
  }

  /** Send a signed `ping` event to the endpoint (asynchronously: watch the delivery) — `POST /v1/webhooks/{id}/ping` (pingWebhookEndpoint) */
  ping(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'pingWebhookEndpoint'>>> {
    return this._transport.call(OPERATIONS.pingWebhookEndpoint, [id], undefined, options) as Promise<WithResponse<ResultOf<'pingWebhookEndpoint'>>>;
  }
}

/** `coffer.restores` */
export class Restores extends Resource {
  /** Restore a snapshot or items into Dropbox — `POST /v1/restores` (createRestore) */
  create(body: BodyOf<'createRestore'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createRestore'>>> {
    return this._transport.call(OPERATIONS.createRestore, [], body, options) as Promise<WithResponse<ResultOf<'createRestore'>>>;
  }
}

/** `coffer.exports` */
export class Exports extends Resource {
  /** Export a snapshot or items as a ZIP — `POST /v1/exports` (createExport) */
  create(body: BodyOf<'createExport'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createExport'>>> {
    return this._transport.call(OPERATIONS.createExport, [], body, options) as Promise<WithResponse<ResultOf<'createExport'>>>;
  }
}

/** `coffer.jobs` */
export class Jobs extends JobWaiter {
  /** List restore and export jobs — `GET /v1/jobs` (listJobs) */
  list(query?: QueryOf<'listJobs'>, options?: RequestOptions): PagePromise<ItemOf<'listJobs'>> {
    return this._transport.list(OPERATIONS.listJobs, [], query, options);
  }

  /** Jobs of the last 7 days by outcome — `GET /v1/jobs/summary` (getJobSummary) */
  getSummary(options?: RequestOptions): Promise<WithResponse<ResultOf<'getJobSummary'>>> {
    return this._transport.call(OPERATIONS.getJobSummary, [], undefined, options) as Promise<WithResponse<ResultOf<'getJobSummary'>>>;
  }

  /** Get a job — `GET /v1/jobs/{id}` (getJob) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getJob'>>> {
    return this._transport.call(OPERATIONS.getJob, [id], undefined, options) as Promise<WithResponse<ResultOf<'getJob'>>>;
  }

  /** List the files a job wrote, and where — `GET /v1/jobs/{id}/items` (listJobItems) */
  items(id: string, query?: QueryOf<'listJobItems'>, options?: RequestOptions): PagePromise<ItemOf<'listJobItems'>> {
    return this._transport.list(OPERATIONS.listJobItems, [id], query, options);
  }

  /** Cancel a job — `POST /v1/jobs/{id}/cancel` (cancelJob) */
  cancel(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'cancelJob'>>> {
    return this._transport.call(OPERATIONS.cancelJob, [id], undefined, options) as Promise<WithResponse<ResultOf<'cancelJob'>>>;
  }

  /** Resume a stopped restore — `POST /v1/jobs/{id}/resume` (resumeJob) */
  resume(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'resumeJob'>>> {
    return this._transport.call(OPERATIONS.resumeJob, [id], undefined, options) as Promise<WithResponse<ResultOf<'resumeJob'>>>;
  }

  /** Download an export's archive — `GET /v1/jobs/{id}/download` (downloadJobResult) */
  downloadResult(id: string, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.downloadJobResult, [id], undefined, options) as Promise<Response>;
  }

  /** Revoke an export's download — `DELETE /v1/jobs/{id}/download` (revokeJobDownload) */
  revokeDownload(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'revokeJobDownload'>>> {
    return this._transport.call(OPERATIONS.revokeJobDownload, [id], undefined, options) as Promise<WithResponse<ResultOf<'revokeJobDownload'>>>;
  }
}

/** `coffer.downloads` */
export class Downloads extends Resource {
  /** Download an export through its signed link — `GET /v1/downloads/{token}` (downloadByLink) */
  get(token: string, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.downloadByLink, [token], undefined, options) as Promise<Response>;
  }
}

/** `coffer.billing.paymentMethods` */
export class BillingPaymentMethods extends Resource {
  /** List cards — `GET /v1/billing/payment-methods` (listPaymentMethods) */
  list(query?: QueryOf<'listPaymentMethods'>, options?: RequestOptions): PagePromise<ItemOf<'listPaymentMethods'>> {
    return this._transport.list(OPERATIONS.listPaymentMethods, [], query, options);
  }

  /** Add a card — `POST /v1/billing/payment-methods` (addPaymentMethod) */
  create(body: BodyOf<'addPaymentMethod'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'addPaymentMethod'>>> {
    return this._transport.call(OPERATIONS.addPaymentMethod, [], body, options) as Promise<WithResponse<ResultOf<'addPaymentMethod'>>>;
  }

  /** Get a card — `GET /v1/billing/payment-methods/{id}` (getPaymentMethod) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getPaymentMethod'>>> {
    return this._transport.call(OPERATIONS.getPaymentMethod, [id], undefined, options) as Promise<WithResponse<ResultOf<'getPaymentMethod'>>>;
  }

  /** Delete a card — `DELETE /v1/billing/payment-methods/{id}` (deletePaymentMethod) */
  delete(id: string, options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.deletePaymentMethod, [id], undefined, options) as Promise<void>;
  }

  /** Make a card the default — `POST /v1/billing/payment-methods/{id}/activate` (activatePaymentMethod) */
  activate(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'activatePaymentMethod'>>> {
    return this._transport.call(OPERATIONS.activatePaymentMethod, [id], undefined, options) as Promise<WithResponse<ResultOf<'activatePaymentMethod'>>>;
  }
}

/** `coffer.billing.invoices` */
export class BillingInvoices extends Resource {
  /** List invoices — `GET /v1/billing/invoices` (listInvoices) */
  list(query?: QueryOf<'listInvoices'>, options?: RequestOptions): PagePromise<ItemOf<'listInvoices'>> {
    return this._transport.list(OPERATIONS.listInvoices, [], query, options);
  }

  /** Get an invoice — `GET /v1/billing/invoices/{id}` (getInvoice) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getInvoice'>>> {
    return this._transport.call(OPERATIONS.getInvoice, [id], undefined, options) as Promise<WithResponse<ResultOf<'getInvoice'>>>;
  }

  /** Download an invoice as PDF — `GET /v1/billing/invoices/{id}/pdf` (downloadInvoicePdf) */
  downloadPdf(id: string, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.downloadInvoicePdf, [id], undefined, options) as Promise<Response>;
  }

  /** Email an invoice to the billing email — `POST /v1/billing/invoices/{id}/email` (emailInvoice) */
  email(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'emailInvoice'>>> {
    return this._transport.call(OPERATIONS.emailInvoice, [id], undefined, options) as Promise<WithResponse<ResultOf<'emailInvoice'>>>;
  }

  /** Pay an invoice with the default card — `POST /v1/billing/invoices/{id}/pay` (payInvoice) */
  pay(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'payInvoice'>>> {
    return this._transport.call(OPERATIONS.payInvoice, [id], undefined, options) as Promise<WithResponse<ResultOf<'payInvoice'>>>;
  }

  /** Record a bank transfer or PayPal payment of an invoice (sandbox) — `POST /v1/billing/invoices/{id}/payments` (recordInvoicePayment) */
  recordPayment(id: string, body: BodyOf<'recordInvoicePayment'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'recordInvoicePayment'>>> {
    return this._transport.call(OPERATIONS.recordInvoicePayment, [id], body, options) as Promise<WithResponse<ResultOf<'recordInvoicePayment'>>>;
  }
}

/** `coffer.billing.payments` */
export class BillingPayments extends Resource {
  /** Payment history (receipts and failed attempts) — `GET /v1/billing/payments` (listPayments) */
  list(query?: QueryOf<'listPayments'>, options?: RequestOptions): PagePromise<ItemOf<'listPayments'>> {
    return this._transport.list(OPERATIONS.listPayments, [], query, options);
  }

  /** Get a payment (receipt) — `GET /v1/billing/payments/{id}` (getPayment) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getPayment'>>> {
    return this._transport.call(OPERATIONS.getPayment, [id], undefined, options) as Promise<WithResponse<ResultOf<'getPayment'>>>;
  }
}

/** `coffer.billing.messages` */
export class BillingMessages extends Resource {
  /** Billing notification messages — `GET /v1/billing/messages` (listBillingMessages) */
  list(query?: QueryOf<'listBillingMessages'>, options?: RequestOptions): PagePromise<ItemOf<'listBillingMessages'>> {
    return this._transport.list(OPERATIONS.listBillingMessages, [], query, options);
  }
}

/** `coffer.billing` */
export class Billing extends Resource {
  readonly paymentMethods: BillingPaymentMethods;
  readonly invoices: BillingInvoices;
  readonly payments: BillingPayments;
  readonly messages: BillingMessages;

  constructor(transport: Transport) {
    super(transport);
    this.paymentMethods = new BillingPaymentMethods(transport);
    this.invoices = new BillingInvoices(transport);
    this.payments = new BillingPayments(transport);
    this.messages = new BillingMessages(transport);
  }

  /** Plans and prices — `GET /v1/billing/plans` (getBillingPlans) */
  getPlans(options?: RequestOptions): Promise<WithResponse<ResultOf<'getBillingPlans'>>> {
    return this._transport.call(OPERATIONS.getBillingPlans, [], undefined, options) as Promise<WithResponse<ResultOf<'getBillingPlans'>>>;
  }

  /** Get the subscription — `GET /v1/billing/subscription` (getSubscription) */
  getSubscription(options?: RequestOptions): Promise<WithResponse<ResultOf<'getSubscription'>>> {
    return this._transport.call(OPERATIONS.getSubscription, [], undefined, options) as Promise<WithResponse<ResultOf<'getSubscription'>>>;
  }

  /** Subscribe (monthly or annual) — `POST /v1/billing/subscription` (subscribe) */
  subscribe(body: BodyOf<'subscribe'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'subscribe'>>> {
    return this._transport.call(OPERATIONS.subscribe, [], body, options) as Promise<WithResponse<ResultOf<'subscribe'>>>;
  }

  /** Cancel the subscription — `DELETE /v1/billing/subscription` (cancelSubscription) */
  cancelSubscription(options?: UpdateOptions): Promise<WithResponse<ResultOf<'cancelSubscription'>>> {
    return this._transport.call(OPERATIONS.cancelSubscription, [], undefined, options) as Promise<WithResponse<ResultOf<'cancelSubscription'>>>;
  }

  /** Get the billing details — `GET /v1/billing/details` (getBillingDetails) */
  getDetails(options?: RequestOptions): Promise<WithResponse<ResultOf<'getBillingDetails'>>> {
    return this._transport.call(OPERATIONS.getBillingDetails, [], undefined, options) as Promise<WithResponse<ResultOf<'getBillingDetails'>>>;
  }

  /** Set the billing details — `PUT /v1/billing/details` (putBillingDetails) */
  updateDetails(body: BodyOf<'putBillingDetails'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'putBillingDetails'>>> {
    return this._transport.call(OPERATIONS.putBillingDetails, [], body, options) as Promise<WithResponse<ResultOf<'putBillingDetails'>>>;
  }

  /** Daily metered usage — `GET /v1/billing/usage` (listBillingUsage) */
  listUsage(query?: QueryOf<'listBillingUsage'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'listBillingUsage'>>> {
    return this._transport.call(OPERATIONS.listBillingUsage, [], query, options) as Promise<WithResponse<ResultOf<'listBillingUsage'>>>;
  }

  /** Download an invoice through an emailed link — `GET /v1/billing/invoice-document` (downloadInvoiceByLink) */
  downloadInvoiceByLink(query: QueryOf<'downloadInvoiceByLink'>, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.downloadInvoiceByLink, [], query, options) as Promise<Response>;
  }

  /** Billing status — `GET /v1/billing/status` (getBillingStatus) */
  getStatus(options?: RequestOptions): Promise<WithResponse<ResultOf<'getBillingStatus'>>> {
    return this._transport.call(OPERATIONS.getBillingStatus, [], undefined, options) as Promise<WithResponse<ResultOf<'getBillingStatus'>>>;
  }

  /** Automatic card payment and the payment day — `GET /v1/billing/payment-settings` (getPaymentSettings) */
  getPaymentSettings(options?: RequestOptions): Promise<WithResponse<ResultOf<'getPaymentSettings'>>> {
    return this._transport.call(OPERATIONS.getPaymentSettings, [], undefined, options) as Promise<WithResponse<ResultOf<'getPaymentSettings'>>>;
  }

  /** Turn automatic card payment on or off; set the payment day — `PATCH /v1/billing/payment-settings` (updatePaymentSettings) */
  updatePaymentSettings(body: BodyOf<'updatePaymentSettings'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updatePaymentSettings'>>> {
    return this._transport.call(OPERATIONS.updatePaymentSettings, [], body, options) as Promise<WithResponse<ResultOf<'updatePaymentSettings'>>>;
  }
}

/** `coffer.activity` */
export class Activity extends Resource {
  /** List system activity (backups, restores, exports, discovery) — `GET /v1/activity` (listActivity) */
  list(query?: QueryOf<'listActivity'>, options?: RequestOptions): PagePromise<ItemOf<'listActivity'>> {
    return this._transport.list(OPERATIONS.listActivity, [], query, options);
  }

  /** Get an activity event with its details (execution time, size, counts, summary) — `GET /v1/activity/{id}` (getActivityEvent) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getActivityEvent'>>> {
    return this._transport.call(OPERATIONS.getActivityEvent, [id], undefined, options) as Promise<WithResponse<ResultOf<'getActivityEvent'>>>;
  }
}

/** `coffer.storage` */
export class Storage extends Resource {
  /** Where the account's backups are stored — `GET /v1/storage` (getStorageTarget) */
  getTarget(options?: RequestOptions): Promise<WithResponse<ResultOf<'getStorageTarget'>>> {
    return this._transport.call(OPERATIONS.getStorageTarget, [], undefined, options) as Promise<WithResponse<ResultOf<'getStorageTarget'>>>;
  }

  /** Choose where the account's backups are stored — `PUT /v1/storage` (setStorageTarget) */
  setTarget(body: BodyOf<'setStorageTarget'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'setStorageTarget'>>> {
    return this._transport.call(OPERATIONS.setStorageTarget, [], body, options) as Promise<WithResponse<ResultOf<'setStorageTarget'>>>;
  }
}

/** `coffer.verifications` */
export class Verifications extends Resource {
  /** List verifications — `GET /v1/verifications` (listVerifications) */
  list(query?: QueryOf<'listVerifications'>, options?: RequestOptions): PagePromise<ItemOf<'listVerifications'>> {
    return this._transport.list(OPERATIONS.listVerifications, [], query, options);
  }

  /** Get a verification and its signed evidence — `GET /v1/verifications/{id}` (getVerification) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getVerification'>>> {
    return this._transport.call(OPERATIONS.getVerification, [id], undefined, options) as Promise<WithResponse<ResultOf<'getVerification'>>>;
  }
}

/** `coffer.verificationKey` */
export class VerificationKey extends Resource {
  /** The public key that signs verification evidence — `GET /v1/verification-key` (getVerificationKey) */
  get(options?: RequestOptions): Promise<WithResponse<ResultOf<'getVerificationKey'>>> {
    return this._transport.call(OPERATIONS.getVerificationKey, [], undefined, options) as Promise<WithResponse<ResultOf<'getVerificationKey'>>>;
  }
}

/** `coffer.events` */
export class Events extends EventStreamer {
  /** List the account's events (newest first; kept 30 days) — `GET /v1/events` (listEvents) */
  list(query?: QueryOf<'listEvents'>, options?: RequestOptions): PagePromise<ItemOf<'listEvents'>> {
    return this._transport.list(OPERATIONS.listEvents, [], query, options);
  }

  /** Receive the account's events as they happen (Server-Sent Events) — `GET /v1/events/stream` (streamEvents) */
  openStream(query?: QueryOf<'streamEvents'>, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.streamEvents, [], query, options) as Promise<Response>;
  }

  /** Get an event — `GET /v1/events/{id}` (getEvent) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getEvent'>>> {
    return this._transport.call(OPERATIONS.getEvent, [id], undefined, options) as Promise<WithResponse<ResultOf<'getEvent'>>>;
  }

  /** Record a test event of a type in the feed (what `coffer trigger` sends) — `POST /v1/events/test` (createTestEvent) */
  trigger(body: BodyOf<'createTestEvent'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createTestEvent'>>> {
    return this._transport.call(OPERATIONS.createTestEvent, [], body, options) as Promise<WithResponse<ResultOf<'createTestEvent'>>>;
  }
}

/** `coffer.oidc` */
export class Oidc extends Resource {
  /** Sign in with Google or Microsoft: redirect to the provider — `GET /v1/oidc/{provider}/login` (startOidcSignIn) */
  startSignIn(provider: string, options?: RequestOptions): Promise<Response> {
    return this._transport.call(OPERATIONS.startOidcSignIn, [provider], undefined, options) as Promise<Response>;
  }

  /** The provider's redirect back: sign in, or link the identity — `GET /v1/oidc/{provider}/callback` (completeOidcCallback) */
  completeCallback(provider: string, query?: QueryOf<'completeOidcCallback'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'completeOidcCallback'>>> {
    return this._transport.call(OPERATIONS.completeOidcCallback, [provider], query, options) as Promise<WithResponse<ResultOf<'completeOidcCallback'>>>;
  }

  /** Finish a Google / Microsoft sign-in with a TOTP code — `POST /v1/oidc/two-factor` (completeOidcTwoFactor) */
  completeTwoFactor(body: BodyOf<'completeOidcTwoFactor'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'completeOidcTwoFactor'>>> {
    return this._transport.call(OPERATIONS.completeOidcTwoFactor, [], body, options) as Promise<WithResponse<ResultOf<'completeOidcTwoFactor'>>>;
  }
}

/** `coffer.partner.health` */
export class PartnerHealth extends Resource {
  /** Every customer's health, tasks, failures and alerts, with totals — `GET /v1/partner/health` (getPartnerHealth) */
  list(query?: QueryOf<'getPartnerHealth'>, options?: RequestOptions): PagePromise<ItemOf<'getPartnerHealth'>> {
    return this._transport.list(OPERATIONS.getPartnerHealth, [], query, options);
  }
}

/** `coffer.partner` */
export class Partner extends Resource {
  readonly health: PartnerHealth;

  constructor(transport: Transport) {
    super(transport);
    this.health = new PartnerHealth(transport);
  }

  /** Every customer's usage and amount for a month, with totals — `GET /v1/partner/usage` (getPartnerUsage) */
  getUsage(query: QueryOf<'getPartnerUsage'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'getPartnerUsage'>>> {
    return this._transport.call(OPERATIONS.getPartnerUsage, [], query, options) as Promise<WithResponse<ResultOf<'getPartnerUsage'>>>;
  }
}

/** `coffer.customers` */
export class Customers extends Resource {
  /** List customers — `GET /v1/customers` (listCustomers) */
  list(query?: QueryOf<'listCustomers'>, options?: RequestOptions): PagePromise<ItemOf<'listCustomers'>> {
    return this._transport.list(OPERATIONS.listCustomers, [], query, options);
  }

  /** Create a customer account — `POST /v1/customers` (createCustomer) */
  create(body: BodyOf<'createCustomer'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createCustomer'>>> {
    return this._transport.call(OPERATIONS.createCustomer, [], body, options) as Promise<WithResponse<ResultOf<'createCustomer'>>>;
  }

  /** Get a customer — `GET /v1/customers/{id}` (getCustomer) */
  get(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getCustomer'>>> {
    return this._transport.call(OPERATIONS.getCustomer, [id], undefined, options) as Promise<WithResponse<ResultOf<'getCustomer'>>>;
  }

  /** Rename a customer or change who pays for it — `PATCH /v1/customers/{id}` (updateCustomer) */
  update(id: string, body: BodyOf<'updateCustomer'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'updateCustomer'>>> {
    return this._transport.call(OPERATIONS.updateCustomer, [id], body, options) as Promise<WithResponse<ResultOf<'updateCustomer'>>>;
  }

  /** Remove a customer account — `DELETE /v1/customers/{id}` (removeCustomer) */
  delete(id: string, query?: QueryOf<'removeCustomer'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'removeCustomer'>>> {
    return this._transport.call(OPERATIONS.removeCustomer, [id], query, options) as Promise<WithResponse<ResultOf<'removeCustomer'>>>;
  }

  /** Mint an API key in a customer account — `POST /v1/customers/{id}/api-keys` (createCustomerApiKey) */
  createApiKey(id: string, body: BodyOf<'createCustomerApiKey'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'createCustomerApiKey'>>> {
    return this._transport.call(OPERATIONS.createCustomerApiKey, [id], body, options) as Promise<WithResponse<ResultOf<'createCustomerApiKey'>>>;
  }
}

/** `coffer.partnerInvitations` */
export class PartnerInvitations extends Resource {
  /** List the invitations this partner sent — `GET /v1/partner-invitations` (listPartnerInvitations) */
  list(query?: QueryOf<'listPartnerInvitations'>, options?: RequestOptions): PagePromise<ItemOf<'listPartnerInvitations'>> {
    return this._transport.list(OPERATIONS.listPartnerInvitations, [], query, options);
  }

  /** Invite an existing account to become a customer — `POST /v1/partner-invitations` (invitePartnerCustomer) */
  create(body: BodyOf<'invitePartnerCustomer'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'invitePartnerCustomer'>>> {
    return this._transport.call(OPERATIONS.invitePartnerCustomer, [], body, options) as Promise<WithResponse<ResultOf<'invitePartnerCustomer'>>>;
  }

  /** Cancel a pending invitation — `DELETE /v1/partner-invitations/{id}` (cancelPartnerInvitation) */
  delete(id: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'cancelPartnerInvitation'>>> {
    return this._transport.call(OPERATIONS.cancelPartnerInvitation, [id], undefined, options) as Promise<WithResponse<ResultOf<'cancelPartnerInvitation'>>>;
  }
}

/** `coffer.iac.states.versions` */
export class IacStatesVersions extends Resource {
  /** The versions of a state, newest first — `GET /v1/iac/states/{name}/versions` (listIacStateVersions) */
  list(name: string, query?: QueryOf<'listIacStateVersions'>, options?: RequestOptions): PagePromise<ItemOf<'listIacStateVersions'>> {
    return this._transport.list(OPERATIONS.listIacStateVersions, [name], query, options);
  }

  /** One earlier version of a state document, exactly as written — `GET /v1/iac/states/{name}/versions/{serial}` (getIacStateVersion) */
  get(name: string, serial: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getIacStateVersion'>>> {
    return this._transport.call(OPERATIONS.getIacStateVersion, [name, serial], undefined, options) as Promise<WithResponse<ResultOf<'getIacStateVersion'>>>;
  }
}

/** `coffer.iac.states` */
export class IacStates extends Resource {
  readonly versions: IacStatesVersions;

  constructor(transport: Transport) {
    super(transport);
    this.versions = new IacStatesVersions(transport);
  }

  /** List the remote states of `coffer iac` (name, serial, lineage, lock) — `GET /v1/iac/states` (listIacStates) */
  list(query?: QueryOf<'listIacStates'>, options?: RequestOptions): PagePromise<ItemOf<'listIacStates'>> {
    return this._transport.list(OPERATIONS.listIacStates, [], query, options);
  }

  /** The current state document, exactly as written; ETag `"v<serial>"` — `GET /v1/iac/states/{name}` (getIacState) */
  get(name: string, options?: RequestOptions): Promise<WithResponse<ResultOf<'getIacState'>>> {
    return this._transport.call(OPERATIONS.getIacState, [name], undefined, options) as Promise<WithResponse<ResultOf<'getIacState'>>>;
  }

  /** Write a new version of a state — `PUT /v1/iac/states/{name}` (putIacState) */
  update(name: string, body: BodyOf<'putIacState'>, options?: UpdateOptions): Promise<WithResponse<ResultOf<'putIacState'>>> {
    return this._transport.call(OPERATIONS.putIacState, [name], body, options) as Promise<WithResponse<ResultOf<'putIacState'>>>;
  }

  /** Delete a state and its history (refused while another run holds its lock) — `DELETE /v1/iac/states/{name}` (deleteIacState) */
  delete(name: string, options?: UpdateOptions): Promise<void> {
    return this._transport.call(OPERATIONS.deleteIacState, [name], undefined, options) as Promise<void>;
  }

  /** Lock a state for a run (409 `state_locked` naming the holder when it is taken) — `POST /v1/iac/states/{name}/lock` (lockIacState) */
  lock(name: string, body: BodyOf<'lockIacState'>, options?: RequestOptions): Promise<WithResponse<ResultOf<'lockIacState'>>> {
    return this._transport.call(OPERATIONS.lockIacState, [name], body, options) as Promise<WithResponse<ResultOf<'lockIacState'>>>;
  }

  /** Release a state's lock (`force=true`: another user's, audited as a force-unlock) — `DELETE /v1/iac/states/{name}/lock` (unlockIacState) */
  unlock(name: string, query: QueryOf<'unlockIacState'>, options?: RequestOptions): Promise<void> {
    return this._transport.call(OPERATIONS.unlockIacState, [name], query, options) as Promise<void>;
  }
}

/** `coffer.iac` */
export class Iac extends Resource {
  readonly states: IacStates;

  constructor(transport: Transport) {
    super(transport);
    this.states = new IacStates(transport);
  }
}

/** Every namespace of the API, as properties of the client. */
export class CofferResources {
  readonly health: Health;
  readonly accounts: Accounts;
  readonly me: Me;
  readonly account: Account;
  readonly regions: Regions;
  readonly apiKeys: ApiKeys;
  readonly tasks: Tasks;
  readonly oauth: Oauth;
  readonly entities: Entities;
  readonly tags: Tags;
  readonly users: Users;
  readonly sessions: Sessions;
  readonly passwordReset: PasswordReset;
  readonly security: Security;
  readonly ipAllowlist: IpAllowlist;
  readonly audit: Audit;
  readonly snapshots: Snapshots;
  readonly items: Items;
  readonly runs: Runs;
  readonly saml: Saml;
  readonly notifications: Notifications;
  readonly webhooks: Webhooks;
  readonly restores: Restores;
  readonly exports: Exports;
  readonly jobs: Jobs;
  readonly downloads: Downloads;
  readonly billing: Billing;
  readonly activity: Activity;
  readonly storage: Storage;
  readonly verifications: Verifications;
  readonly verificationKey: VerificationKey;
  readonly events: Events;
  readonly oidc: Oidc;
  readonly partner: Partner;
  readonly customers: Customers;
  readonly partnerInvitations: PartnerInvitations;
  readonly iac: Iac;

  constructor(transport: Transport) {
    this.health = new Health(transport);
    this.accounts = new Accounts(transport);
    this.me = new Me(transport);
    this.account = new Account(transport);
    this.regions = new Regions(transport);
    this.apiKeys = new ApiKeys(transport);
    this.tasks = new Tasks(transport);
    this.oauth = new Oauth(transport);
    this.entities = new Entities(transport);
    this.tags = new Tags(transport);
    this.users = new Users(transport);
    this.sessions = new Sessions(transport);
    this.passwordReset = new PasswordReset(transport);
    this.security = new Security(transport);
    this.ipAllowlist = new IpAllowlist(transport);
    this.audit = new Audit(transport);
    this.snapshots = new Snapshots(transport);
    this.items = new Items(transport);
    this.runs = new Runs(transport);
    this.saml = new Saml(transport);
    this.notifications = new Notifications(transport);
    this.webhooks = new Webhooks(transport);
    this.restores = new Restores(transport);
    this.exports = new Exports(transport);
    this.jobs = new Jobs(transport);
    this.downloads = new Downloads(transport);
    this.billing = new Billing(transport);
    this.activity = new Activity(transport);
    this.storage = new Storage(transport);
    this.verifications = new Verifications(transport);
    this.verificationKey = new VerificationKey(transport);
    this.events = new Events(transport);
    this.oidc = new Oidc(transport);
    this.partner = new Partner(transport);
    this.customers = new Customers(transport);
    this.partnerInvitations = new PartnerInvitations(transport);
    this.iac = new Iac(transport);
  }
}
