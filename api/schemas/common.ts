// Schemas shared by every resource. Each is named ($id) so that OpenAPI shows it once under
// components and the SDK gets one type for it.
import { Type, type Static, type TSchema } from '@fastify/type-provider-typebox';

/** A typed `$ref` to a named schema: keeps reply typing and emits `$ref` in OpenAPI. */
export function ref<T extends TSchema & { $id?: string }>(schema: T) {
  if (!schema.$id) throw new Error('ref() needs a schema with $id');
  return Type.Unsafe<Static<T>>(Type.Ref(schema.$id));
}

export const FieldError = Type.Object(
  {
    pointer: Type.String({ description: 'JSON pointer into the request, e.g. `/body/name` or `/query/limit`.' }),
    detail: Type.String(),
  },
  { $id: 'FieldError', additionalProperties: false },
);

export const Problem = Type.Object(
  {
    type: Type.String({ description: 'A URI naming the problem type (`urn:coffer:problem:<code>`).' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.Optional(Type.String()),
    code: Type.String({ description: 'Stable, machine-readable error code.' }),
    instance: Type.Optional(Type.String()),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(ref(FieldError))),
  },
  {
    $id: 'Problem',
    description: 'An RFC 9457 problem document, served as `application/problem+json`.',
    additionalProperties: true,
  },
);
export type Problem = Static<typeof Problem>;

export const Timestamp = (description?: string) => Type.String({ format: 'date-time', ...(description ? { description } : {}) });
export const NullableTimestamp = (description?: string) =>
  Type.Union([Type.String({ format: 'date-time' }), Type.Null()], description ? { description } : {});

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 25, description: 'Page size, 1–100.' })),
  cursor: Type.Optional(Type.String({ maxLength: 512, description: 'The `next_cursor` of the previous page.' })),
};

/** `{ data, next_cursor }`: every list in the API has this shape. */
export function Page<T extends TSchema & { $id?: string }>(item: T, id: string) {
  return Type.Object(
    {
      data: Type.Array(ref(item)),
      next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last page.' }),
    },
    { $id: id, additionalProperties: false },
  );
}

export const IdParam = (prefix: string) =>
  Type.Object({ id: Type.String({ pattern: `^${prefix}_[0-9a-z]{26}$`, description: `An id starting with \`${prefix}_\`.` }) });

export const sharedSchemas: TSchema[] = [FieldError, Problem];
