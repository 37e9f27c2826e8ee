import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../../src/core/errors.js';
import { convertSchema, MAX_UNROLL } from '../../src/translators/gemini/convert-schema.js';

function refs(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((sum: number, entry) => sum + refs(entry), 0);
  if (typeof value !== 'object' || value === null) return 0;
  let count = 0;
  for (const [key, entry] of Object.entries(value)) count += (key === '$ref' ? 1 : 0) + refs(entry);
  return count;
}

describe('gemini convertSchema', () => {
  it('keeps a schema without references unchanged, key order included', () => {
    const schema = {
      type: 'object',
      required: ['b', 'a'],
      properties: { b: { type: 'string' }, a: { anyOf: [{ type: 'integer' }, { type: 'null' }] } },
      additionalProperties: false,
    };
    const { schema: out, warnings } = convertSchema(schema, 'tools[0]');
    assert.deepEqual(out, schema);
    assert.deepEqual(Object.keys(out), ['type', 'required', 'properties', 'additionalProperties']);
    assert.deepEqual(Object.keys(out.properties as object), ['b', 'a']);
    assert.equal(warnings.length, 0);
  });

  it('inlines $defs and definitions references, nested ones too, and drops the containers', () => {
    const schema = {
      type: 'object',
      properties: { list: { type: 'array', items: { $ref: '#/$defs/item' } }, legacy: { $ref: '#/definitions/old' } },
      $defs: { item: { type: 'object', properties: { tag: { $ref: '#/$defs/tag' } } }, tag: { type: 'string', enum: ['x', 'y'] } },
      definitions: { old: { type: 'number' } },
    };
    const { schema: out } = convertSchema(schema, 'p');
    assert.deepEqual(out, {
      type: 'object',
      properties: {
        list: { type: 'array', items: { type: 'object', properties: { tag: { type: 'string', enum: ['x', 'y'] } } } },
        legacy: { type: 'number' },
      },
    });
    assert.equal(refs(out), 0);
  });

  it('puts the target keywords first and lets $ref siblings win', () => {
    const schema = {
      properties: { owner: { description: 'the owner', $ref: '#/$defs/person', title: 'Owner' } },
      $defs: { person: { type: 'object', description: 'a person', properties: { name: { type: 'string' } } } },
    };
    const owner = (convertSchema(schema, 'p').schema.properties as Record<string, Record<string, unknown>>).owner;
    assert.deepEqual(owner, { type: 'object', description: 'the owner', properties: { name: { type: 'string' } }, title: 'Owner' });
    assert.deepEqual(Object.keys(owner ?? {}), ['type', 'description', 'properties', 'title']);
  });

  it('resolves escaped JSON pointers and array indexes', () => {
    const schema = {
      anyOf: [{ type: 'string' }, { $ref: '#/$defs/a~1b/items/0' }, { $ref: '#/$defs/til~0de' }],
      $defs: { 'a/b': { items: [{ type: 'boolean' }] }, 'til~de': { type: 'null' } },
    };
    assert.deepEqual(convertSchema(schema, 'p').schema, { anyOf: [{ type: 'string' }, { type: 'boolean' }, { type: 'null' }] });
  });

  it('leaves property names, enum/default/const values and unknown keywords untouched', () => {
    const schema = {
      type: 'object',
      properties: { $ref: { type: 'string' }, definitions: { type: 'string', default: { $ref: '#/nowhere' } } },
      enum: [{ $ref: 'literal' }],
      const: { definitions: 1 },
      'x-vendor': { $ref: '#/also/literal' },
    };
    assert.deepEqual(convertSchema(schema, 'p').schema, schema);
  });

  it(`unrolls a recursive reference ${MAX_UNROLL} times, then truncates it with a warning`, () => {
    const schema = {
      $ref: '#/$defs/node',
      $defs: { node: { type: 'object', properties: { value: { type: 'string' }, next: { $ref: '#/$defs/node', description: 'tail' } } } },
    };
    const { schema: out, warnings } = convertSchema(schema, 'tools[2].function.parameters');
    let depth = 0;
    let cursor: Record<string, unknown> | undefined = out;
    while (cursor && typeof cursor.properties === 'object') {
      depth += 1;
      cursor = (cursor.properties as Record<string, Record<string, unknown>>).next;
    }
    assert.equal(depth, MAX_UNROLL);
    assert.deepEqual(cursor, { description: 'tail' });
    assert.equal(refs(out), 0);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.kind, 'schema_recursion_truncated');
    assert.match(warnings[0]?.detail ?? '', /tools\[2\]\.function\.parameters/);
  });

  it('handles a root that refers to itself ("#")', () => {
    const { schema: out } = convertSchema({ type: 'object', properties: { child: { $ref: '#' } } }, 'p');
    assert.equal(refs(out), 0);
    assert.equal((out.properties as Record<string, Record<string, unknown>>).child?.type, 'object');
  });

  for (const [name, schema, pattern] of [
    ['an unresolvable pointer', { $ref: '#/$defs/missing' }, /does not resolve/],
    ['a remote reference', { $ref: 'https://example.com/schema.json' }, /only local \$ref/],
    ['an anchor', { $ref: '#thing' }, /anchors are not supported/],
    ['a non-object schema', 'string', /must be an object/],
    ['a reference to a non-schema', { $ref: '#/$defs/x', $defs: { x: 3 } }, /does not point to a schema object/],
  ] as const) {
    it(`rejects ${name} with a 422 naming the schema`, () => {
      assert.throws(
        () => convertSchema(schema, 'response_format.json_schema.schema'),
        (error: unknown) =>
          GatewayError.isInstance(error) &&
          error.status === 422 &&
          error.param === 'response_format.json_schema.schema' &&
          pattern.test(error.message),
      );
    });
  }

  it('bounds the size of an exponentially expanding schema', () => {
    const $defs: Record<string, unknown> = { l0: { type: 'string' } };
    for (let level = 1; level <= 20; level += 1) {
      $defs[`l${level}`] = { anyOf: [{ $ref: `#/$defs/l${level - 1}` }, { $ref: `#/$defs/l${level - 1}` }] };
    }
    assert.throws(() => convertSchema({ $ref: '#/$defs/l20', $defs }, 'p'), /too large/);
  });

  it('does not modify the input', () => {
    const schema = { properties: { a: { $ref: '#/$defs/a' } }, $defs: { a: { type: 'string' } } };
    const copy = structuredClone(schema);
    convertSchema(schema, 'p');
    assert.deepEqual(schema, copy);
  });
});

describe('Gemini schema fields by model', () => {
  it('uses the OpenAPI subset for Gemini 1.x and 2.0 ids, JSON Schema for the others, unless overridden', async () => {
    const { geminiSchemaDialect } = await import('../../src/translators/gemini/schema-dialect.js');
    for (const model of ['gemini-1.5-pro-002', 'gemini-1.0-pro', 'gemini-2.0-flash-001', 'publishers/google/models/gemini-2.0-flash-lite']) {
      assert.equal(geminiSchemaDialect(model, undefined), 'openapi', model);
    }
    for (const model of ['gemini-2.5-flash', 'gemini-2.5-pro', 'gemini-3-pro-preview', 'gemini-flash-latest', 'tuned-model-7']) {
      assert.equal(geminiSchemaDialect(model, undefined), 'json-schema', model);
    }
    assert.equal(geminiSchemaDialect('gemini-2.0-flash', 'json-schema'), 'json-schema');
    assert.equal(geminiSchemaDialect('gemini-2.5-flash', 'openapi'), 'openapi');
  });

  it('keeps nothing outside the subset and says what it removed', async () => {
    const { convertOpenApiSchema } = await import('../../src/translators/gemini/convert-schema.js');
    const converted = convertOpenApiSchema({ type: 'object', not: { type: 'string' }, properties: { n: { type: 'integer', enum: [1, 2] } } }, 'x', false);
    assert.deepEqual(converted.schema, { type: 'object', properties: { n: { type: 'integer' } } });
    assert.deepEqual(converted.warnings.map((warning) => warning.kind), ['schema_keyword_dropped']);
    assert.match(converted.warnings[0]?.detail ?? '', /removed: enum, not/);
  });
});
