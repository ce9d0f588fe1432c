// Every resource of the public API, in the order they appear in the OpenAPI document. Named
// schemas are registered at the root so that any resource may reference another's.
import type { TSchema } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../deps.ts';
import health, { schemas as healthSchemas } from './health/routes.ts';
import accounts from './accounts/routes.ts';
import { schemas as accountSchemas } from './accounts/schemas.ts';
import apiKeys from './api-keys/routes.ts';
import { schemas as apiKeySchemas } from './api-keys/schemas.ts';
import tasks from './tasks/routes.ts';
import { schemas as taskSchemas } from './tasks/schemas.ts';
import entities from './entities/routes.ts';
import { schemas as entitySchemas } from './entities/schemas.ts';
import tags from './tags/routes.ts';
import { schemas as tagSchemas } from './tags/schemas.ts';
import users from './users/routes.ts';
import { schemas as userSchemas } from './users/schemas.ts';
import sessions from './sessions/routes.ts';
import { schemas as sessionSchemas } from './sessions/schemas.ts';
import passwords from './passwords/routes.ts';
import { schemas as passwordSchemas } from './passwords/schemas.ts';
import twoFactor from './two-factor/routes.ts';
import { schemas as twoFactorSchemas } from './two-factor/schemas.ts';
import security from './security/routes.ts';
import { schemas as securitySchemas } from './security/schemas.ts';
import ipAllowlist from './ip-allowlist/routes.ts';
import { schemas as ipAllowlistSchemas } from './ip-allowlist/schemas.ts';
import audit from './audit/routes.ts';
import { schemas as auditSchemas } from './audit/schemas.ts';

export const resources: ((deps: AppDeps) => FastifyPluginAsyncTypebox)[] = [health, accounts, apiKeys, tasks, entities, tags,
  users, sessions, passwords, twoFactor, security, ipAllowlist, audit];

export const resourceSchemas: TSchema[] = [...healthSchemas, ...apiKeySchemas, ...accountSchemas, ...taskSchemas, ...entitySchemas, ...tagSchemas,
  ...userSchemas, ...sessionSchemas, ...passwordSchemas, ...twoFactorSchemas, ...securitySchemas, ...ipAllowlistSchemas, ...auditSchemas];

// Backups: snapshots, browsing, item versions, per-day history.
import snapshots from './snapshots/routes.ts';
import { schemas as snapshotSchemas } from './snapshots/schemas.ts';
import runs from './runs/routes.ts';
import { schemas as runSchemas } from './runs/schemas.ts';
resources.push(snapshots, runs);
resourceSchemas.push(...snapshotSchemas, ...runSchemas);

// SAML single sign-on.
import saml from './saml/routes.ts';
import { schemas as samlSchemas } from './saml/schemas.ts';
resources.push(saml);
resourceSchemas.push(...samlSchemas);

// Notifications (settings, recipients, summary reports) and webhooks.
import notifications from './notifications/routes.ts';
import { schemas as notificationSchemas } from './notifications/schemas.ts';
import webhooks from './webhooks/routes.ts';
import { schemas as webhookSchemas } from './webhooks/schemas.ts';
resources.push(notifications, webhooks);
resourceSchemas.push(...notificationSchemas, ...webhookSchemas);

// Recovery: item search, restores, exports, jobs and downloads.
import items from './items/routes.ts';
import { schemas as itemSchemas } from './items/schemas.ts';
import jobs from './jobs/routes.ts';
import { schemas as jobSchemas } from './jobs/schemas.ts';
resources.push(items, jobs);
resourceSchemas.push(...itemSchemas, ...jobSchemas);

// Billing: plans, subscription, details, cards, usage, invoices, payments, status, messages.
import billing from './billing/routes.ts';
import { schemas as billingSchemas } from './billing/schemas.ts';
import billingPayments from './billing/payment-routes.ts';
import { paymentSchemas as billingPaymentSchemas } from './billing/payment-schemas.ts';
resources.push(billing, billingPayments);
resourceSchemas.push(...billingSchemas, ...billingPaymentSchemas);

// System activity.
import activity from './activity/routes.ts';
import { schemas as activitySchemas } from './activity/schemas.ts';
resources.push(activity);
resourceSchemas.push(...activitySchemas);

// Account lifecycle: email change, removal with a grace period.
import accountLifecycle from './accounts/lifecycle-routes.ts';
import { schemas as accountLifecycleSchemas } from './accounts/lifecycle-schemas.ts';
resources.push(accountLifecycle);
resourceSchemas.push(...accountLifecycleSchemas);

// Where an account's backups are stored: the region's default or its own bucket.
import storage from './storage/routes.ts';
import { schemas as storageSchemas } from './storage/schemas.ts';
resources.push(storage);
resourceSchemas.push(...storageSchemas);

// Restore drills: verifications with signed evidence, and the key that signs it.
import verifications from './verifications/routes.ts';
import { schemas as verificationSchemas } from './verifications/schemas.ts';
resources.push(verifications);
resourceSchemas.push(...verificationSchemas);

// The event feed: every webhook event, listed and streamed (Server-Sent Events).
import events from './events/routes.ts';
import { schemas as eventSchemas } from './events/schemas.ts';
resources.push(events);
resourceSchemas.push(...eventSchemas);

// Sign-in with Google / Microsoft (OpenID Connect) and linked identities.
import identities from './identities/routes.ts';
import { schemas as identitySchemas } from './identities/schemas.ts';
resources.push(identities);
resourceSchemas.push(...identitySchemas);

// Partner roll-ups: every customer's health and usage in one request.
import partner from './partner/routes.ts';
import { schemas as partnerSchemas } from './partner/schemas.ts';
resources.push(partner);
resourceSchemas.push(...partnerSchemas);

// Partners (MSPs): their customers, invitations to become one, and the customer's side of it.
import customers from './customers/routes.ts';
import { schemas as customerSchemas } from './customers/schemas.ts';
import partnerInvitations from './partner-invitations/routes.ts';
import { schemas as partnerInvitationSchemas } from './partner-invitations/schemas.ts';
resources.push(customers, partnerInvitations);
resourceSchemas.push(...customerSchemas, ...partnerInvitationSchemas);

// Remote state of the IaC tool (`coffer iac`, backend "coffer"): versioned, locked, sealed at rest.
import iacStates from './iac-states/routes.ts';
import { schemas as iacStateSchemas } from './iac-states/schemas.ts';
resources.push(iacStates);
resourceSchemas.push(...iacStateSchemas);
