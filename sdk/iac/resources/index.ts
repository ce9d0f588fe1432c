// Every resource type and data source the IaC tool knows, by name. A new type: a file in this folder
// implementing ResourceType (or DataSourceType) from ../types.ts, and one line in the list below.
import type { DataSourceType, ResourceType } from '../types.ts';
import { tag } from './tag.ts';
import { task } from './task.ts';
import { entity } from './entity.ts';
import { account, entities, regions, tags, taskData } from './data.ts';
import { user } from './user.ts';
import { apiKey } from './api-key.ts';
import { ipAllowlistEntry } from './ip-allowlist-entry.ts';
import { ipAllowlist } from './ip-allowlist.ts';
import { securityPolicy } from './security-policy.ts';
import { samlSettings } from './saml-settings.ts';
import { notificationSettings } from './notification-settings.ts';
import { notificationRecipient } from './notification-recipient.ts';
import { webhookEndpoint } from './webhook-endpoint.ts';
import { storage } from './storage.ts';
import { billingDetails } from './billing-details.ts';
import { customer } from './customer.ts';

export const RESOURCE_TYPES: readonly ResourceType[] = [
  tag,
  task,
  entity,
  user,
  apiKey,
  ipAllowlistEntry,
  ipAllowlist,
  securityPolicy,
  samlSettings,
  notificationSettings,
  notificationRecipient,
  webhookEndpoint,
  storage,
  billingDetails,
  customer,
];

export const DATA_SOURCE_TYPES: readonly DataSourceType[] = [
  regions,
  account,
  taskData,
  entities,
  tags,
];

const resources = new Map(RESOURCE_TYPES.map((t) => [t.name, t]));
const dataSources = new Map(DATA_SOURCE_TYPES.map((t) => [t.name, t]));

export function resourceType(name: string): ResourceType | undefined {
  return resources.get(name);
}

export function dataSourceType(name: string): DataSourceType | undefined {
  return dataSources.get(name);
}
