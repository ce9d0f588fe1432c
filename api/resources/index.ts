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

export const resources: ((deps: AppDeps) => FastifyPluginAsyncTypebox)[] = [health, accounts, apiKeys];

export const resourceSchemas: TSchema[] = [...healthSchemas, ...apiKeySchemas, ...accountSchemas];
