// PostgreSQL text and jsonb cannot hold U+0000: a NUL character reaching a query fails it
// ("invalid byte sequence"), which would answer 500 for a client's input. JSON, query strings and
// path segments can all carry one (`\u0000`, `%00`), so every string of a request is checked once,
// before validation, and a NUL is a 400 naming the field.
import type { FastifyInstance } from 'fastify';
import { invalidField } from '../errors.ts';

/** The JSON pointer of the first string holding U+0000 in `value`, or undefined. */
export function nulPointer(value: unknown, pointer: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer : undefined;
  if (!value || typeof value !== 'object' || depth > 64) return undefined;
  for (const [k, v] of Object.entries(value)) {
    if (k.includes('\u0000')) return `${pointer}/${k}`;
    const found = nulPointer(v, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export function registerNulCheck(app: FastifyInstance) {
  app.addHook('preValidation', async (request) => {
    const pointer = nulPointer(request.params, '/params') ?? nulPointer(request.query, '/query') ?? nulPointer(request.body, '/body');
    if (pointer) throw invalidField(pointer, 'must not contain the NUL character (U+0000)');
  });
}
