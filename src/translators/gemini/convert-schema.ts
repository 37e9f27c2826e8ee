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
