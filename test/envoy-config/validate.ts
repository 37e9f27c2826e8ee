/**
 * Strict validation of Envoy config (YAML or JSON) against Envoy's API protos, as Envoy's own loader would
 * read it: unknown fields, wrong types, unresolvable or invalid `@type`s, unknown enum names, malformed
 * durations and wrapper values are errors with their path. Any typed_config (typed_extension_protocol_options,
 * typed_per_filter_config...) is resolved and validated recursively. Also checks protoc-gen-validate's
 * `required`, `min_len`, `min_items` and numeric bounds, oneof exclusivity, and refuses deprecated fields.
 */
import protobuf from 'protobufjs';
import { parse } from 'yaml';
import { EnvoyProtoRoot } from './proto-root.js';
import { checkScalar, checkWellKnown, WELL_KNOWN } from './scalars.js';

export const BOOTSTRAP_TYPE = 'envoy.config.bootstrap.v3.Bootstrap';

let sharedRoot: EnvoyProtoRoot | undefined;
/** One loaded proto root per process (loading is the slow part). */
export function envoyProtoRoot(): EnvoyProtoRoot {
  sharedRoot ??= new EnvoyProtoRoot();
  return sharedRoot;
}

type Errors = string[];

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const safe = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
  return path ? `${path}.${safe}` : safe;
}

class Validator {
  constructor(
    private readonly root: EnvoyProtoRoot,
    private readonly errors: Errors,
  ) {}

  message(type: protobuf.Type, value: unknown, path: string): void {
    const name = type.fullName.replace(/^\./, '');
    if (name === 'google.protobuf.Any') return this.any(value, path);
    if (WELL_KNOWN.has(name)) {
      const problem = checkWellKnown(name, value);
      if (problem) this.error(path, `${problem} (${name})`);
      return;
    }
    if (!isObject(value)) return this.error(path, `expected an object (${name}), got ${describe(value)}`);
    const byJsonName = new Map(type.fieldsArray.map((field) => [field.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase()), field]));
    const present = new Set<string>();
    const invalid = new Set<string>();
    for (const [key, child] of Object.entries(value)) {
      const field = type.fields[key] ?? byJsonName.get(key);
      const at = join(path, key);
      if (!field) {
        this.error(at, `unknown field "${key}" in ${name}`);
        continue;
      }
      if (child === null) continue;
      present.add(field.name);
      if (field.options?.['deprecated'] === true) this.error(at, `deprecated field ${name}.${field.name}`);
      const before = this.errors.length;
      this.field(field, child, at);
      if (this.errors.length > before) invalid.add(field.name);
    }
    this.rules(type, present, invalid, value, path);
  }

  /** Oneof exclusivity and protoc-gen-validate rules on the message's fields. */
  private rules(type: protobuf.Type, present: Set<string>, invalid: Set<string>, value: Record<string, unknown>, path: string): void {
    const name = type.fullName.replace(/^\./, '');
    for (const oneof of type.oneofsArray) {
      const set = oneof.fieldsArray.filter((field) => present.has(field.name)).map((field) => field.name);
      if (set.length > 1) this.error(path, `only one of ${set.join(', ')} may be set (oneof ${name}.${oneof.name})`);
      if (set.length === 0 && oneof.options?.['(validate.required)'] === true && !oneof.name.startsWith('_')) {
        this.error(path, `one of ${oneof.fieldsArray.map((field) => field.name).join(', ')} is required (${name}.${oneof.name})`);
      }
    }
    for (const field of type.fieldsArray) {
      const options = field.options ?? {};
      const at = join(path, field.name);
      const child = value[field.name] ?? value[field.name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())];
      // In a oneof, "required" only constrains the member that is chosen; the oneof's own rule covers the rest.
      if (options['(validate.rules).message.required'] === true && !field.partOf && !present.has(field.name)) {
        this.error(at, `required field ${name}.${field.name} is missing`);
      }
      if (child === undefined || child === null || invalid.has(field.name)) continue;
      const minLen = options['(validate.rules).string.min_len'];
      if (typeof minLen === 'number' && typeof child === 'string' && child.length < minLen) {
        this.error(at, `must have at least ${minLen} character(s)`);
      }
      const minItems = options['(validate.rules).repeated.min_items'];
      if (typeof minItems === 'number' && Array.isArray(child) && child.length < minItems) {
        this.error(at, `must have at least ${minItems} item(s)`);
      }
      this.bounds(field, child, at);
    }
  }

  /** Numeric bounds from validate.rules (gt, gte, lt, lte) for scalar fields. */
  private bounds(field: protobuf.Field, child: unknown, at: string): void {
    if (field.repeated || field.map) return;
    const number = typeof child === 'number' ? child : typeof child === 'string' && /^-?\d+$/.test(child) ? Number(child) : undefined;
    if (number === undefined) return;
    for (const [key, bound] of Object.entries(field.options ?? {})) {
      const match = /^\(validate\.rules\)\.(?:u?int32|u?int64|double|float|fixed32|fixed64)\.(gt|gte|lt|lte)$/.exec(key);
      if (!match || typeof bound !== 'number') continue;
      const ok = { gt: number > bound, gte: number >= bound, lt: number < bound, lte: number <= bound }[match[1] as 'gt' | 'gte' | 'lt' | 'lte'];
      if (!ok) this.error(at, `must be ${match[1]} ${bound}, got ${number}`);
    }
  }

  private field(field: protobuf.Field, value: unknown, path: string): void {
    if (field.map) {
      if (!isObject(value)) return this.error(path, `expected a map (object), got ${describe(value)}`);
      const mapField = field as unknown as protobuf.MapField;
      for (const [key, child] of Object.entries(value)) {
        const keyProblem = checkScalar(mapField.keyType, key, true);
        if (keyProblem) this.error(join(path, key), `map key: ${keyProblem}`);
        this.single(field, child, join(path, key));
      }
      return;
    }
    if (field.repeated) {
      if (!Array.isArray(value)) return this.error(path, `expected a list, got ${describe(value)}`);
      value.forEach((item, index) => this.single(field, item, join(path, index)));
      return;
    }
    this.single(field, value, path);
  }

  private single(field: protobuf.Field, value: unknown, path: string): void {
    const resolved = field.resolvedType;
    if (resolved instanceof protobuf.Type) return this.message(resolved, value, path);
    if (resolved instanceof protobuf.Enum) return this.enumValue(resolved, value, path);
    const problem = checkScalar(field.type, value, false);
    if (problem) this.error(path, problem);
  }

  private enumValue(type: protobuf.Enum, value: unknown, path: string): void {
    const names = Object.keys(type.values);
    if (typeof value === 'string' && names.includes(value)) return;
    if (typeof value === 'number' && Object.values(type.values).includes(value)) return;
    this.error(path, `${describe(value)} is not a value of enum ${type.fullName.replace(/^\./, '')} (${names.join(', ')})`);
  }

  /** google.protobuf.Any: "@type" names the message; the other keys are its fields. */
  private any(value: unknown, path: string): void {
    if (!isObject(value)) return this.error(path, `expected an object with "@type", got ${describe(value)}`);
    const url = value['@type'];
    if (typeof url !== 'string') return this.error(path, 'missing "@type"');
    const slash = url.lastIndexOf('/');
    if (slash <= 0) return this.error(join(path, '@type'), `"${url}" is not a type URL (type.googleapis.com/<message>)`);
    const typeName = url.slice(slash + 1);
    const type = this.root.lookupType(typeName);
    if (!type) return this.error(join(path, '@type'), `unresolvable @type "${url}"`);
    const { '@type': _ignored, ...rest } = value;
    if (WELL_KNOWN.has(typeName) || typeName === 'google.protobuf.Any') {
      return this.message(type, rest['value'], join(path, 'value'));
    }
    this.message(type, rest, path);
  }

  private error(path: string, message: string): void {
    this.errors.push(`${path || '(root)'}: ${message}`);
  }
}

/** Validates a parsed config against a message type (default: the Bootstrap). Returns "path: message" strings. */
export function validateEnvoyConfig(value: unknown, typeName: string = BOOTSTRAP_TYPE): string[] {
  const root = envoyProtoRoot();
  const type = root.lookupType(typeName);
  if (!type) return [`(root): unknown message type ${typeName}`];
  const errors: Errors = [];
  new Validator(root, errors).message(type, value, '');
  return errors;
}

/** Parses YAML (or JSON) text and validates it as a Bootstrap. */
export function validateEnvoyYaml(text: string, typeName: string = BOOTSTRAP_TYPE): string[] {
  let value: unknown;
  try {
    value = parse(text, { uniqueKeys: true });
  } catch (error) {
    return [`(root): YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`];
  }
  return validateEnvoyConfig(value, typeName);
}
