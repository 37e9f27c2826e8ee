/**
 * The Envoy Gateway manifests (envoy/gateway/*.yaml) against the CRD schemas of a named Envoy Gateway release
 * (test/fixtures/crds/README.md: v1.9.0 and its Gateway API v1.6.1 CRDs), with a JSON-schema validator (ajv).
 *
 * Each CRD's openAPIV3Schema is read as the API server reads it:
 * - an object schema with `properties` is closed (an unknown field is an error, as with kubectl's strict field
 *   validation) unless it sets `x-kubernetes-preserve-unknown-fields` or `additionalProperties`;
 * - `x-kubernetes-int-or-string` allows an integer or a string;
 * - `nullable` is honoured; `format` is not checked.
 * Not checked: the CEL rules in `x-kubernetes-validations`, which only an API server evaluates.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT } from '../../scripts/envoy-generate.js';

const CRD_DIR = join(REPO_ROOT, 'test/fixtures/crds');
const MANIFEST_DIR = join(REPO_ROOT, 'envoy/gateway');
const OPTIONS = { timeout: 120_000 };
const GROUPS = ['gateway.networking.k8s.io', 'gateway.envoyproxy.io'];

type Schema = Record<string, unknown>;

interface CrdVersion {
  name: string;
  served: boolean;
  schema?: { openAPIV3Schema?: Schema };
}

interface Crd {
  kind: string;
  spec: { group: string; names: { kind: string }; versions: CrdVersion[] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Closes every object schema that lists its properties, as the API server's strict field validation does. */
function closeObjects(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closeObjects);
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isObject(value)) out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, closeObjects(child)]));
    else if (key === 'enum' || key === 'default' || key === 'example' || key === 'required') out[key] = value;
    else out[key] = closeObjects(value);
  }
  if (isObject(out['properties']) && out['additionalProperties'] === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) {
    out['additionalProperties'] = false;
  }
  return out;
}

function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  ajv.addKeyword({
    keyword: 'x-kubernetes-int-or-string',
    schemaType: 'boolean',
    validate: (enabled: boolean, data: unknown) => !enabled || typeof data === 'string' || Number.isInteger(data),
    errors: false,
  });
  return ajv;
}

/** "<group>/<version>/<Kind>" -> validator, for every served version of every CRD in the fixtures. */
function loadValidators(): { validators: Map<string, ValidateFunction>; files: string[] } {
  const ajv = createAjv();
  const validators = new Map<string, ValidateFunction>();
  const files = readdirSync(CRD_DIR).filter((name) => name.endsWith('.yaml')).sort();
  for (const file of files) {
    for (const document of parseAllDocuments(readFileSync(join(CRD_DIR, file), 'utf8'))) {
      const crd = document.toJS() as Crd | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const version of crd.spec.versions) {
        const schema = version.schema?.openAPIV3Schema;
        if (!version.served || !schema) continue;
        validators.set(`${crd.spec.group}/${version.name}/${crd.spec.names.kind}`, ajv.compile(closeObjects(schema) as Schema));
      }
    }
  }
  return { validators, files };
}

interface Manifest {
  where: string;
  value: Record<string, unknown>;
}

function manifests(): Manifest[] {
  const found: Manifest[] = [];
  for (const file of readdirSync(MANIFEST_DIR).filter((name) => name.endsWith('.yaml')).sort()) {
    for (const [index, document] of parseAllDocuments(readFileSync(join(MANIFEST_DIR, file), 'utf8')).entries()) {
      const value = document.toJS() as Record<string, unknown> | null;
      if (value && GROUPS.includes(String(value['apiVersion']).split('/')[0] ?? '')) found.push({ where: `envoy/gateway/${file} #${index + 1}`, value });
    }
  }
  return found;
}

function describeError(error: ErrorObject): string {
  const at = error.instancePath || '(root)';
  if (error.keyword === 'additionalProperties') return `${at}: unknown field "${String(error.params['additionalProperty'])}"`;
  if (error.keyword === 'enum') return `${at}: ${error.message} (${JSON.stringify(error.params['allowedValues'])})`;
  return `${at}: ${error.message ?? error.keyword}`;
}

/** Every schema error of one resource; a kind or version with no CRD is an error too. */
function check(validators: Map<string, ValidateFunction>, value: Record<string, unknown>): string[] {
  const key = `${String(value['apiVersion'])}/${String(value['kind'])}`;
  const validate = validators.get(key);
  if (!validate) return [`no served CRD version for ${key} in test/fixtures/crds`];
  return validate(value) ? [] : (validate.errors ?? []).map(describeError);
}

describe('Envoy Gateway manifests against the CRDs of Envoy Gateway v1.9.0', OPTIONS, () => {
  const { validators, files } = loadValidators();
  const all = manifests();

  it('has the CRD files the README lists, each with a schema', OPTIONS, () => {
    assert.equal(files.length, 9, files.join(', '));
    for (const kind of ['Gateway', 'HTTPRoute', 'BackendTLSPolicy']) assert.ok(validators.has(`gateway.networking.k8s.io/v1/${kind}`), kind);
    for (const kind of ['Backend', 'BackendTrafficPolicy', 'ClientTrafficPolicy', 'EnvoyExtensionPolicy', 'EnvoyProxy', 'HTTPRouteFilter']) {
      assert.ok(validators.has(`gateway.envoyproxy.io/v1alpha1/${kind}`), kind);
    }
  });

  it('every Gateway API and Envoy Gateway resource under envoy/gateway is valid', OPTIONS, () => {
    const kinds = new Set(all.map((manifest) => String(manifest.value['kind'])));
    for (const kind of ['Gateway', 'HTTPRoute', 'BackendTLSPolicy', 'Backend', 'BackendTrafficPolicy', 'ClientTrafficPolicy', 'EnvoyExtensionPolicy', 'EnvoyProxy', 'HTTPRouteFilter']) {
      assert.ok(kinds.has(kind), `the manifests use ${kind}`);
    }
    const problems = all.flatMap((manifest) => check(validators, manifest.value).map((problem) => `${manifest.where} ${String(manifest.value['kind'])}: ${problem}`));
    assert.deepEqual(problems, []);
  });

  it('catches a renamed field, a value outside an enum, a wrong type and a kind the release does not have', OPTIONS, () => {
    const find = (kind: string) => structuredClone(all.find((manifest) => manifest.value['kind'] === kind)?.value) as Record<string, any>;
    const policy = find('EnvoyExtensionPolicy');
    policy['spec']['extProc'][0]['messageTimeOut'] = policy['spec']['extProc'][0]['messageTimeout'];
    delete policy['spec']['extProc'][0]['messageTimeout'];
    assert.deepEqual(check(validators, policy), ['/spec/extProc/0: unknown field "messageTimeOut"']);

    const buffered = find('EnvoyExtensionPolicy');
    buffered['spec']['extProc'][0]['processingMode']['request']['body'] = 'Buffer';
    const [enumError] = check(validators, buffered);
    assert.match(enumError ?? '', /^\/spec\/extProc\/0\/processingMode\/request\/body: must be equal to one of the allowed values/);

    const gateway = find('Gateway');
    gateway['spec']['listeners'][0]['port'] = 'eighty';
    assert.ok(check(validators, gateway).includes('/spec/listeners/0/port: must be integer'), JSON.stringify(check(validators, gateway)));

    const budgets = find('BackendTrafficPolicy');
    budgets['spec']['rateLimit']['global']['rules'][0]['limit']['unit'] = 'Fortnight';
    assert.ok(check(validators, budgets).some((problem) => problem.startsWith('/spec/rateLimit/global/rules/0/limit/unit: must be equal to one of')));

    assert.deepEqual(check(validators, { ...find('Backend'), apiVersion: 'gateway.envoyproxy.io/v1' }), [
      'no served CRD version for gateway.envoyproxy.io/v1/Backend in test/fixtures/crds',
    ]);
  });
});
