/**
 * Prepares a client JSON schema for Gemini's `parametersJsonSchema` / `responseJsonSchema`.
 *
 * Those fields take JSON Schema as is (anyOf, items, enums, key order...), so the schema is kept intact except for
 * references: Gemini refuses a `$ref` with sibling keywords and only partly resolves `$defs`, so every local `$ref`
 * (`#`, `#/$defs/...`, `#/definitions/...`, any JSON pointer into the document) is inlined and the `$defs` /
 * `definitions` containers are dropped. The target's keywords come first, then the `$ref`'s siblings (which win).
 * A recursive reference is unrolled {@link MAX_UNROLL} times and then replaced by its siblings alone (an
 * unconstrained schema), with a warning. A reference that does not resolve is a 422.
 *
 * Only schema positions are walked: `properties` names, `enum`/`const`/`default`/`examples` values and unknown
 * keywords are copied untouched, so a property called `$ref` or `definitions` survives.
 *
 * @see https://ai.google.dev/api/caching#FunctionDeclaration (parametersJsonSchema)
 * @see https://ai.google.dev/gemini-api/docs/structured-output
 */
import { isRecord } from '../../core/json.js';
import { GatewayError } from '../../core/errors.js';
import type { Warning } from '../types.js';
import type { JsonObject } from './gemini-types.js';

/** How many times one reference may be expanded inside itself. */
export const MAX_UNROLL = 2;
/** Upper bound on schema objects produced by inlining (references can multiply a schema's size). */
export const MAX_SCHEMA_NODES = 20_000;

/** Keywords whose value is one schema. */
const SCHEMA_KEYWORDS = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'propertyNames',
  'contains',
  'not',
  'if',
  'then',
  'else',
]);
/** Keywords whose value is an array of schemas. */
const SCHEMA_ARRAY_KEYWORDS = new Set(['anyOf', 'oneOf', 'allOf', 'prefixItems']);
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', 'dependentSchemas']);
/** Definition containers, dropped once every reference is inlined. */
const DEFINITION_KEYWORDS = new Set(['$defs', 'definitions']);

export interface ConvertedSchema {
  readonly schema: JsonObject;
  readonly warnings: readonly Warning[];
}

class SchemaInliner {
  readonly warnings: Warning[] = [];
  private nodes = 0;

  constructor(
    private readonly root: unknown,
    private readonly where: string,
  ) {}

  fail(message: string): never {
    throw new GatewayError('ERR_INVALID_REQUEST', `${this.where}: ${message}`, { param: this.where });
  }

  resolvePointer(ref: string): unknown {
    if (!ref.startsWith('#')) this.fail(`only local $ref values are supported, got "${ref}"`);
    const pointer = ref.slice(1);
    if (pointer === '') return this.root;
    if (!pointer.startsWith('/')) this.fail(`unsupported $ref "${ref}" (anchors are not supported)`);
    let node: unknown = this.root;
    for (const rawToken of pointer.slice(1).split('/')) {
      let token: string;
      try {
        token = decodeURIComponent(rawToken).replace(/~1/g, '/').replace(/~0/g, '~');
      } catch {
        this.fail(`invalid $ref "${ref}"`);
      }
      if (Array.isArray(node) && /^\d+$/.test(token)) node = node[Number(token)];
      else if (isRecord(node) && Object.hasOwn(node, token)) node = node[token];
      else this.fail(`$ref "${ref}" does not resolve`);
    }
    return node;
  }

  schema(node: unknown, stack: readonly string[]): unknown {
    if (!isRecord(node)) return node; // boolean schemas and malformed values stay as given
    this.nodes += 1;
    if (this.nodes > MAX_SCHEMA_NODES) this.fail(`the schema is too large once its $ref values are inlined`);
    const ref = node.$ref;
    if (typeof ref === 'string') return this.reference(node, ref, stack);
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (DEFINITION_KEYWORDS.has(key)) continue;
      out[key] = this.keyword(key, value, stack);
    }
    return out;
  }

  private reference(node: JsonObject, ref: string, stack: readonly string[]): unknown {
    const siblings: JsonObject = {};
    for (const [key, value] of Object.entries(node)) {
      if (key !== '$ref' && !DEFINITION_KEYWORDS.has(key)) siblings[key] = this.keyword(key, value, stack);
    }
    const depth = stack.filter((entry) => entry === ref).length;
    if (depth >= MAX_UNROLL) {
      this.warnings.push({ kind: 'schema_recursion_truncated', detail: `${this.where}: recursive $ref "${ref}" unrolled ${MAX_UNROLL} times` });
      return siblings;
    }
    const target = this.schema(this.resolvePointer(ref), [...stack, ref]);
    if (target === true) return siblings;
    if (!isRecord(target)) this.fail(`$ref "${ref}" does not point to a schema object`);
    return { ...target, ...siblings };
  }

  private keyword(key: string, value: unknown, stack: readonly string[]): unknown {
    if (key === 'items' && Array.isArray(value)) return value.map((entry) => this.schema(entry, stack));
    if (SCHEMA_KEYWORDS.has(key)) return this.schema(value, stack);
    if (SCHEMA_ARRAY_KEYWORDS.has(key) && Array.isArray(value)) return value.map((entry) => this.schema(entry, stack));
    if (SCHEMA_MAP_KEYWORDS.has(key) && isRecord(value)) {
      const out: JsonObject = {};
      for (const [name, schema] of Object.entries(value)) out[name] = this.schema(schema, stack);
      return out;
    }
    return value;
  }
}

/** Inlines local references of a client schema. `where` names the schema in error messages (e.g. `tools[0]`). */
export function convertSchema(schema: unknown, where: string): ConvertedSchema {
  if (!isRecord(schema)) {
    throw new GatewayError('ERR_INVALID_REQUEST', `${where}: the JSON schema must be an object`, { param: where });
  }
  const inliner = new SchemaInliner(schema, where);
  const converted = inliner.schema(schema, []);
  // the root itself may be a $ref whose target is `true`
  return { schema: isRecord(converted) ? converted : {}, warnings: inliner.warnings };
}

/**
 * The OpenAPI 3.0 subset Gemini's `Schema` object takes (`FunctionDeclaration.parameters`,
 * `generationConfig.responseSchema`), for the models that predate the JSON Schema fields (schema-dialect.ts).
 * References are inlined first (as above); then, per schema object:
 * - `type: [X, "null"]` and `anyOf: [X, {type: "null"}]` -> X with `nullable: true` (several non-null types ->
 *   `anyOf` of each); `type: "null"` alone -> `nullable: true`;
 * - `const` (a string) -> a one-value `enum`; `oneOf` -> `anyOf`; a single-entry `allOf` is merged in;
 *   `examples` -> `example` (the first);
 * - `enum` keeps string values only (the subset has no other enums; a `null` member makes it nullable), and an
 *   enum gets `type: string` when it has no type;
 * - `format` keeps date-time, enum, int32, int64, float and double;
 * - objects get `propertyOrdering` (the key order of `properties`) when `ordering` is set: Gemini 2.0 needs it to
 *   keep the schema's order in structured output;
 * - every other keyword (additionalProperties, $schema, patternProperties, not, if/then/else, multi-entry allOf,
 *   non-string enums and consts ...) is removed, and one `schema_keyword_dropped` warning lists them.
 * @see https://ai.google.dev/api/caching#Schema
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/v1/Schema
 */
const OPENAPI_KEYWORDS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required',
  'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering',
  'default', 'items', 'minimum', 'maximum',
]);
const OPENAPI_FORMATS = new Set(['date-time', 'enum', 'int32', 'int64', 'float', 'double']);
const OPENAPI_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'array', 'object']);

class OpenApiSubset {
  readonly dropped = new Set<string>();

  constructor(private readonly ordering: boolean) {}

  schema(node: unknown): JsonObject {
    if (!isRecord(node)) return {};
    let source: JsonObject = node;
    const allOf = source.allOf;
    if (Array.isArray(allOf) && allOf.length === 1 && isRecord(allOf[0])) {
      const { allOf: _merged, ...rest } = source;
      source = { ...allOf[0], ...rest };
    }
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(source)) {
      switch (key) {
        case 'type':
          this.type(value, out);
          break;
        case 'const':
          if (typeof value === 'string') out.enum = [value];
          else this.dropped.add('const');
          break;
        case 'enum': {
          // A null member says "nullable"; the subset's enums are lists of strings.
          const members = Array.isArray(value) ? value.filter((entry) => entry !== null) : [];
          if (Array.isArray(value) && members.length < value.length) out.nullable = true;
          if (members.length > 0 && members.every((entry) => typeof entry === 'string')) out.enum = members;
          else this.dropped.add('enum');
          break;
        }
        case 'oneOf':
        case 'anyOf': {
          if (key === 'oneOf') this.dropped.add('oneOf (sent as anyOf)');
          if (!Array.isArray(value)) break;
          // `anyOf: [X, {type: "null"}]` is how JSON Schema says "nullable X".
          const isNull = (entry: unknown) => isRecord(entry) && entry.type === 'null' && Object.keys(entry).length === 1;
          const members = value.filter((entry) => !isNull(entry));
          if (members.length < value.length) out.nullable = true;
          if (members.length === 1) Object.assign(out, this.schema(members[0]), members.length < value.length ? { nullable: true } : {});
          else if (members.length > 1) out.anyOf = members.map((entry) => this.schema(entry));
          break;
        }
        case 'examples':
          if (Array.isArray(value) && value.length > 0) out.example = value[0];
          break;
        case 'format':
          if (typeof value === 'string' && OPENAPI_FORMATS.has(value)) out.format = value;
          else this.dropped.add(`format ${JSON.stringify(value)}`);
          break;
        case 'properties':
          if (isRecord(value)) out.properties = Object.fromEntries(Object.entries(value).map(([name, entry]) => [name, this.schema(entry)]));
          break;
        case 'items':
          out.items = this.schema(Array.isArray(value) ? value[0] : value);
          break;
        default:
          if (OPENAPI_KEYWORDS.has(key)) out[key] = value;
          else this.dropped.add(key);
      }
    }
    if (this.ordering && isRecord(out.properties) && out.propertyOrdering === undefined) out.propertyOrdering = Object.keys(out.properties);
    if (out.enum !== undefined && out.type === undefined) out.type = 'string';
    return out;
  }

  private type(value: unknown, out: JsonObject): void {
    const types = (Array.isArray(value) ? value : [value]).filter((entry): entry is string => typeof entry === 'string');
    const real = types.filter((entry) => entry !== 'null');
    if (real.length < types.length) out.nullable = true;
    if (real.length === 1 && OPENAPI_TYPES.has(real[0] as string)) out.type = real[0];
    else if (real.length > 1) out.anyOf = real.filter((entry) => OPENAPI_TYPES.has(entry)).map((entry) => ({ type: entry }));
    else if (real.length === 1) this.dropped.add(`type ${JSON.stringify(real[0])}`);
  }
}

/** A client JSON schema as Gemini's OpenAPI-subset `Schema` (references inlined, unsupported keywords removed). */
export function convertOpenApiSchema(schema: unknown, where: string, ordering: boolean): ConvertedSchema {
  const inlined = convertSchema(schema, where);
  const subset = new OpenApiSubset(ordering);
  const converted = subset.schema(inlined.schema);
  const warnings: Warning[] = [...inlined.warnings];
  if (subset.dropped.size > 0) {
    warnings.push({ kind: 'schema_keyword_dropped', detail: `${where}: not in Gemini's OpenAPI schema subset, removed: ${[...subset.dropped].sort().join(', ')}` });
  }
  return { schema: converted, warnings };
}
