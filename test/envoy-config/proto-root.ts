/**
 * Envoy's API protos from @grpc/grpc-js-xds (deps/envoy-api, xds, googleapis, protoc-gen-validate), loaded
 * with protobufjs on demand: a type's package directory is loaded the first time the type is looked up.
 * The fields listed in src/envoy/newer-fields.ts are added by hand.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import protobuf from 'protobufjs';
import { NEWER_FIELDS, NEWER_MESSAGES, type NewerFieldSpec } from '../../src/envoy/newer-fields.js';

const require = createRequire(import.meta.url);
const XDS_DEPS = join(dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');
const PROTOBUFJS_DIR = dirname(require.resolve('protobufjs/package.json'));

/** Include directories, searched in order. protobufjs ships google/protobuf/descriptor.proto. */
export const INCLUDE_DIRS = [
  join(XDS_DEPS, 'envoy-api'),
  join(XDS_DEPS, 'xds'),
  join(XDS_DEPS, 'googleapis'),
  join(XDS_DEPS, 'protoc-gen-validate'),
  PROTOBUFJS_DIR,
];

/** True when every `import "…";` of a .proto file is found in the include directories (or is one of the
 *  google/protobuf well-known types protobufjs has built in). */
function importsResolve(path: string, seen = new Map<string, boolean>()): boolean {
  const known = seen.get(path);
  if (known !== undefined) return known;
  seen.set(path, true); // import cycles resolve to what the rest of the cycle says
  const imports = [...readFileSync(path, 'utf8').matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)";/gm)].map((match) => match[1] ?? '');
  const ok = imports.every((target) => {
    if (target.startsWith('google/protobuf/')) return true;
    const found = INCLUDE_DIRS.map((include) => join(include, target)).find((candidate) => existsSync(candidate));
    return found !== undefined && importsResolve(found, seen);
  });
  seen.set(path, ok);
  return ok;
}

export class EnvoyProtoRoot {
  readonly root = new protobuf.Root();
  private readonly loadedDirs = new Set<string>();
  /** What the shipped protos had for each newer field/message before patching: its type name, or null. */
  private readonly shipped = new Map<string, string | null>();

  constructor() {
    this.root.resolvePath = (_origin, target) => {
      for (const dir of INCLUDE_DIRS) {
        const candidate = join(dir, target);
        if (existsSync(candidate)) return candidate;
      }
      return target;
    };
  }

  /** The message type named `fullName` (no leading dot), loading its package on first use. */
  lookupType(fullName: string): protobuf.Type | undefined {
    const found = this.find(fullName) ?? (this.loadPackageOf(fullName) ? this.find(fullName) : undefined);
    return found instanceof protobuf.Type ? found : undefined;
  }

  /**
   * The shipped protos' version of a newer field ("Message.field") or message ("Message"): its type
   * (leading dot for messages), null when absent, undefined when its package was never loaded.
   */
  shippedDefinition(name: string): string | null | undefined {
    return this.shipped.get(name);
  }

  private find(fullName: string): protobuf.ReflectionObject | undefined {
    const found = this.root.lookup(fullName);
    return found ?? undefined;
  }

  /** Loads every .proto in the directory of the package that holds `fullName`. */
  private loadPackageOf(fullName: string): boolean {
    const parts = fullName.split('.');
    const firstUpper = parts.findIndex((part) => /^[A-Z]/.test(part));
    const packageParts = firstUpper === -1 ? parts : parts.slice(0, firstUpper);
    const relative = packageParts.join('/');
    if (this.loadedDirs.has(relative)) return false;
    this.loadedDirs.add(relative);
    const dir = INCLUDE_DIRS.map((include) => join(include, relative)).find((candidate) => existsSync(candidate));
    if (!dir) return false;
    // A file importing protos that are not shipped (envoy/config/trace/v3/opencensus.proto needs opencensus) is
    // left out: its types cannot be checked, and a config using them fails as an unknown type.
    const files = readdirSync(dir)
      .filter((name) => name.endsWith('.proto') && importsResolve(join(dir, name)))
      .map((name) => `${relative}/${name}`);
    if (files.length === 0) return false;
    this.root.loadSync(files, { keepCase: true });
    this.root.resolveAll();
    this.applyNewerFields();
    return true;
  }

  /** Adds the hand-listed newer messages and fields (once their parent types are loaded). */
  private applyNewerFields(): void {
    for (const message of NEWER_MESSAGES) {
      const parentLoaded = this.find(message.name.slice(0, message.name.lastIndexOf('.')));
      if (parentLoaded && !this.shipped.has(message.name)) this.shipped.set(message.name, this.find(message.name) ? message.name : null);
      if (this.find(message.name)) continue;
      const parentName = message.name.slice(0, message.name.lastIndexOf('.'));
      const parent = this.find(parentName);
      if (!(parent instanceof protobuf.Type) && !(parent instanceof protobuf.Namespace)) continue;
      const type = new protobuf.Type(message.name.slice(parentName.length + 1));
      for (const field of message.fields) type.add(newField(field));
      parent.add(type);
      for (const field of type.fieldsArray) field.resolve();
    }
    for (const spec of NEWER_FIELDS) {
      const type = this.find(spec.message);
      if (!(type instanceof protobuf.Type)) continue;
      const existing = type.fields[spec.name];
      const key = `${spec.message}.${spec.name}`;
      if (!this.shipped.has(key)) this.shipped.set(key, existing ? typeName(existing) : null);
      if (existing && typeName(existing) === spec.type) continue;
      if (existing) type.remove(existing);
      const field = newField(spec);
      type.add(field);
      field.resolve();
    }
    this.root.resolveAll();
  }
}

/** A field's type: full message/enum name without the leading dot, or the scalar name. */
export function typeName(field: protobuf.Field): string {
  return field.resolvedType ? field.resolvedType.fullName.replace(/^\./, '') : field.type;
}

function newField(spec: NewerFieldSpec): protobuf.Field {
  const scalar = /^[a-z0-9]+$/.test(spec.type);
  return new protobuf.Field(spec.name, spec.id, scalar ? spec.type : `.${spec.type}`, spec.repeated ? 'repeated' : undefined);
}
