// fast-check arbitraries from the JSON Schemas of the OpenAPI document: values a schema accepts
// (valid-shaped requests) and values that break it in each way the schema can describe (wrong
// type, missing required property, unknown property, out-of-range number, too long or too short
// string, pattern or format or enum not matched, too many items, duplicates). Only the keywords
// the document uses are understood; a new keyword simply gets no dedicated breakage.
import fc from 'fast-check';

export type Schema = Record<string, any>;

/** A value that breaks a schema, with where and how (for the failure message). */
export interface Broken {
  value: unknown;
  why: string;
}

/** `$ref` to `#/components/...` followed, shallowly (nested schemas are resolved when reached). */
export function deref(doc: Schema, schema: Schema | undefined): Schema {
  let s = schema ?? {};
  for (let i = 0; i < 20 && typeof s.$ref === 'string'; i++) {
    s = s.$ref.slice(2).split('/').reduce((o: Schema, k: string) => o?.[k], doc) ?? {};
  }
  return s;
}

const TYPE_OF = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : Number.isInteger(v) ? 'integer' : typeof v);

function typesOf(s: Schema): string[] | undefined {
  if (s.type === undefined) return undefined;
  return Array.isArray(s.type) ? s.type : [s.type];
}

const SAMPLES: unknown[] = [0, -1, 1.5, 'text', '', true, false, null, [], {}, [1, 'a'], { a: 1 }];

function accepts(types: string[], v: unknown): boolean {
  const t = TYPE_OF(v);
  return types.includes(t) || (t === 'integer' && types.includes('number'));
}

const FORMAT_BREAKERS: Record<string, string[]> = {
  'date-time': ['yesterday', '2024-13-45T99:99:99Z', '2024-02-30T00:00:00', '0000-00-00T00:00:00Z', '2024-01-01', '+275760-09-13T00:00:00.001Z'],
  date: ['2024-13-01', '2024-02-30', '01/02/2024', '2024-01-01T00:00:00Z', '99999-01-01'],
  email: ['not-an-email', '@example.com', 'a@', 'a b@example.com', 'a@b@c', '<script>@x.y'],
  uri: ['not a uri', 'http//missing-colon', '://x', 'javascript:alert(1)', 'http://[::1', 'ftp://exa mple.com'],
};

const TOO_LONG_CAP = 70_000;

export function validArb(doc: Schema, schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  const s = deref(doc, schema);
  if (s.const !== undefined) return fc.constant(s.const);
  if (Array.isArray(s.enum)) return fc.constantFrom(...s.enum);
  const alternatives = s.anyOf ?? s.oneOf;
  if (Array.isArray(alternatives)) return fc.oneof(...alternatives.map((a: Schema) => validArb(doc, a, depth + 1)));
  const types = typesOf(s);
  if (!types) return depth > 3 ? fc.constant('x') : fc.jsonValue({ maxDepth: 2 });
  if (types.length > 1) return fc.oneof(...types.map((type) => validArb(doc, { ...s, type }, depth)));
  switch (types[0]) {
    case 'null': return fc.constant(null);
    case 'boolean': return fc.boolean();
    case 'integer':
    case 'number': {
      const min = s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : s.minimum ?? -1000;
      const max = s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : s.maximum ?? Math.max(min, 0) + 1000;
      return types[0] === 'integer' ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) }) : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
    }
    case 'string': return validString(s);
    case 'array': {
      const items = validArb(doc, s.items, depth + 1);
      const constraints = { minLength: s.minItems ?? 0, maxLength: Math.min(s.maxItems ?? 3, Math.max(s.minItems ?? 0, 3)) };
      return s.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (v) => JSON.stringify(v) }) : fc.array(items, constraints);
    }
    case 'object': {
      if (depth > 4) return fc.constant({});
      const props: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) props[k] = validArb(doc, v, depth + 1);
      return fc.record(props, { requiredKeys: (s.required ?? []).filter((k: string) => k in props) });
    }
    default: return fc.constant(null);
  }
}

function validString(s: Schema): fc.Arbitrary<string> {
  const minLength = s.minLength ?? 0;
  const maxLength = Math.min(s.maxLength ?? 40, Math.max(minLength, 40));
  const fits = (v: string) => v.length >= minLength && v.length <= (s.maxLength ?? Infinity);
  if (s.pattern) return fc.stringMatching(new RegExp(s.pattern)).filter(fits);
  switch (s.format) {
    case 'date-time': return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
    case 'date': return fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    case 'email': return fc.emailAddress().filter(fits);
    case 'uri': return fc.webUrl().filter(fits);
    default: return fc.string({ minLength, maxLength, unit: 'binary' });
  }
}

/** Every way the document's keywords let a value break `schema`, as one arbitrary (pointer: where the value sits). */
export function brokenArb(doc: Schema, schema: Schema | undefined, pointer: string, depth = 0): fc.Arbitrary<Broken> | undefined {
  const s = deref(doc, schema);
  const ways: fc.Arbitrary<Broken>[] = [];
  const broken = (why: string, values: fc.Arbitrary<unknown>) => ways.push(values.map((value) => ({ value, why: `${pointer}: ${why}` })));
  const types = typesOf(s);
  if (Array.isArray(s.enum)) {
    const wrong = SAMPLES.filter((v) => !s.enum.some((e: unknown) => JSON.stringify(e) === JSON.stringify(v)));
    broken('not one of the enum', fc.oneof(fc.constantFrom(...wrong), fc.string({ maxLength: 30 }).filter((v) => !s.enum.includes(v))));
  }
  if (types) {
    const wrong = SAMPLES.filter((v) => !accepts(types, v));
    if (wrong.length) broken(`not of type ${types.join('|')}`, fc.constantFrom(...wrong));
  }
  if (types?.includes('string') && !s.enum) {
    if (s.maxLength !== undefined && s.maxLength < TOO_LONG_CAP) {
      broken(`longer than ${s.maxLength}`, fc.integer({ min: s.maxLength + 1, max: s.maxLength + 64 }).map((n) => 'x'.repeat(n)));
    }
    if (s.minLength) broken(`shorter than ${s.minLength}`, fc.constant('x'.repeat(s.minLength - 1)));
    if (s.pattern) {
      const re = new RegExp(s.pattern);
      broken(`not matching ${s.pattern}`, fc.oneof(fc.string({ maxLength: 40, unit: 'binary' }), fc.constantFrom('../../etc/passwd', "' or 1=1 --", '\u0000', '%00', 'x'.repeat(300))).filter((v) => !re.test(v)));
    }
    const formatBreakers = FORMAT_BREAKERS[s.format];
    if (formatBreakers) broken(`not a ${s.format}`, fc.constantFrom(...formatBreakers));
  }
  if (types?.some((t) => t === 'integer' || t === 'number')) {
    const out: number[] = [1e308, -1e308, 2 ** 53 + 2, -(2 ** 53) - 2, 2 ** 31, -(2 ** 31) - 1];
    if (s.minimum !== undefined) out.push(s.minimum - 1);
    if (s.exclusiveMinimum !== undefined) out.push(s.exclusiveMinimum);
    if (s.maximum !== undefined) out.push(s.maximum + 1);
    if (s.exclusiveMaximum !== undefined) out.push(s.exclusiveMaximum);
    broken('out of range', fc.constantFrom(...out));
    if (types.includes('integer') && !types.includes('number')) broken('not an integer', fc.constantFrom(0.5, 1.000001, -2.5));
  }
  if (types?.includes('array') && depth < 4) {
    const item = validArb(doc, s.items, depth + 1);
    if (s.maxItems !== undefined && s.maxItems < 1000) broken(`more than ${s.maxItems} items`, fc.array(item, { minLength: s.maxItems + 1, maxLength: s.maxItems + 3 }));
    if (s.minItems) broken(`fewer than ${s.minItems} items`, fc.array(item, { maxLength: s.minItems - 1 }));
    if (s.uniqueItems) broken('duplicate items', item.map((v) => [v, v]));
    const itemBroken = brokenArb(doc, s.items, `${pointer}/0`, depth + 1);
    if (itemBroken) ways.push(itemBroken.map((b) => ({ value: [b.value], why: b.why })));
  }
  if (types?.includes('object') && depth < 4) {
    const valid = validArb(doc, s, depth) as fc.Arbitrary<Record<string, unknown>>;
    for (const k of s.required ?? []) broken(`missing required ${k}`, valid.map((v) => Object.fromEntries(Object.entries(v).filter(([p]) => p !== k))));
    if (s.additionalProperties === false) {
      broken('unknown property', fc.tuple(valid, fc.constantFrom('__proto__', 'constructor', 'unknown_field', 'id', 'account_id', ''), fc.jsonValue({ maxDepth: 1 }))
        // A computed key defines an own property, "__proto__" included, so it reaches the JSON.
        .map(([v, k, x]) => ({ ...v, [k]: x })));
    }
    for (const [k, sub] of Object.entries<Schema>(s.properties ?? {})) {
      const b = brokenArb(doc, sub, `${pointer}/${k}`, depth + 1);
      if (b) ways.push(fc.tuple(valid, b).map(([v, x]) => ({ value: { ...v, [k]: x.value }, why: x.why })));
    }
  }
  // anyOf / oneOf: a value breaking every alternative at once is not built here; the callers'
  // wrong JSON types (arrays, strings, numbers in place of the object) cover most of it.
  if (!ways.length) return undefined;
  return fc.oneof(...ways);
}
