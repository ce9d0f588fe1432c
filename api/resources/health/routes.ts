import { Type, type FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { AppDeps } from '../../deps.ts';
import { appliedMigrationCount, shippedMigrationCount } from '../../../db/client.ts';
import { ApiError } from '../../errors.ts';

const tags = ['meta'];
export const Health = Type.Object({ status: Type.Literal('ok') }, { $id: 'Health', additionalProperties: false });
export const Readiness = Type.Object(
  {
    status: Type.Literal('ready'),
    database: Type.Literal('ok'),
    migrations: Type.Object({ applied: Type.Integer(), expected: Type.Integer() }),
  },
  { $id: 'Readiness', additionalProperties: false },
);

export const schemas = [Health, Readiness];

export default (deps: AppDeps): FastifyPluginAsyncTypebox =>
  async (app) => {
    const expected = shippedMigrationCount();

    app.get('/healthz', {
      config: { public: true, rateLimit: false },
      schema: { operationId: 'getHealth', tags, summary: 'Liveness: the process is serving', response: { 200: Type.Ref('Health') } },
    }, async () => ({ status: 'ok' as const }));

    app.get('/readyz', {
      config: { public: true, rateLimit: false },
      schema: {
        operationId: 'getReadiness', tags, summary: 'Readiness: the database answers and every migration is applied',
        response: { 200: Type.Ref('Readiness'), 503: { description: 'Not ready', content: { 'application/problem+json': { schema: Type.Ref('Problem') } } } },
      },
    }, async () => {
      let applied: number;
      try {
        applied = await appliedMigrationCount(deps.sql);
      } catch {
        throw new ApiError(503, 'database_unavailable', 'Service Unavailable', 'The database does not answer.');
      }
      if (applied < expected) {
        throw new ApiError(503, 'migrations_pending', 'Service Unavailable', `${applied} of ${expected} migrations are applied.`);
      }
      return { status: 'ready' as const, database: 'ok' as const, migrations: { applied, expected } };
    });

    app.get('/openapi.json', {
      config: { public: true, rateLimit: false },
      schema: { hide: true },
    }, async () => app.swagger());
  };
