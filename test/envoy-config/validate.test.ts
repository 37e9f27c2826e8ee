/**
 * The proto validator itself: it must reject what Envoy rejects, with the path of the problem, and the
 * hand-listed newer fields must really be missing from the shipped protos.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NEWER_FIELDS, NEWER_MESSAGES } from '../../src/envoy/newer-fields.js';
import { bootstrapFor, TWO_BACKENDS, type JsonMap } from './helpers.js';
import { envoyProtoRoot, validateEnvoyConfig, validateEnvoyYaml } from './validate.js';

const MINIMAL = `
static_resources:
  listeners:
    - name: l
      address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: s
                route_config: { virtual_hosts: [{ name: v, domains: ["*"], routes: [] }] }
                http_filters:
                  - name: envoy.filters.http.router
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
`;

const HCM = 'static_resources.listeners[0].filter_chains[0].filters[0].typed_config';

function mutate(text: string, from: string, to: string): string {
  assert.ok(text.includes(from), `fixture lacks ${from}`);
  return text.replace(from, to);
}

describe('Envoy proto validator', () => {
  it('accepts a minimal valid bootstrap', () => {
    assert.deepEqual(validateEnvoyYaml(MINIMAL), []);
  });

  it('rejects an unknown field with its path', () => {
    const errors = validateEnvoyYaml(mutate(MINIMAL, 'stat_prefix: s', 'stat_prefix: s\n                stat_prefx: t'));
    assert.deepEqual(errors, [`${HCM}.stat_prefx: unknown field "stat_prefx" in envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`]);
  });

  it('rejects wrong types: a string port, a number where a duration goes, a list where an object goes', () => {
    assert.deepEqual(validateEnvoyYaml(mutate(MINIMAL, 'port_value: 10000', 'port_value: ten')), [
      'static_resources.listeners[0].address.socket_address.port_value: expected an integer (uint32), got string "ten"',
    ]);
    assert.deepEqual(validateEnvoyYaml(mutate(MINIMAL, 'stat_prefix: s', 'stat_prefix: s\n                stream_idle_timeout: 30')), [
      `${HCM}.stream_idle_timeout: expected a duration such as "10s", got number 30 (google.protobuf.Duration)`,
    ]);
    assert.deepEqual(validateEnvoyYaml(mutate(MINIMAL, 'route_config: {', 'route_config: [')
      .replace('routes: [] }] }', 'routes: [] }] ]')), [`${HCM}.route_config: expected an object (envoy.config.route.v3.RouteConfiguration), got a list`]);
    assert.deepEqual(validateEnvoyYaml(mutate(MINIMAL, 'port_value: 10000', 'port_value: 70000000000')), [
      'static_resources.listeners[0].address.socket_address.port_value: 70000000000 is out of range for uint32',
    ]);
  });

  it('resolves every @type and validates inside it; an unknown @type is an error', () => {
    const badType = mutate(MINIMAL, 'router.v3.Router }', 'router.v3.Routr }');
    assert.deepEqual(validateEnvoyYaml(badType), [
      `${HCM}.http_filters[0].typed_config."@type": unresolvable @type "type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr"`,
    ]);
    const badInner = mutate(MINIMAL, 'router.v3.Router }', 'router.v3.Router, dynamic_stats: maybe }');
    assert.deepEqual(validateEnvoyYaml(badInner), [`${HCM}.http_filters[0].typed_config.dynamic_stats: expected true or false, got string "maybe" (google.protobuf.BoolValue)`]);
    const missing = mutate(MINIMAL, '{ "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }', '{ dynamic_stats: true }');
    assert.deepEqual(validateEnvoyYaml(missing), [`${HCM}.http_filters[0].typed_config: missing "@type"`]);
  });

  it('checks enums by name, oneofs, required fields and deprecated fields', () => {
    assert.deepEqual(validateEnvoyYaml(mutate(MINIMAL, 'stat_prefix: s', 'stat_prefix: s\n                codec_type: HTTP9')), [
      `${HCM}.codec_type: string "HTTP9" is not a value of enum envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.CodecType (AUTO, HTTP1, HTTP2, HTTP3)`,
    ]);
    const twoSpecifiers = mutate(MINIMAL, 'routes: []', 'routes: [{ match: { prefix: /, path: /x }, direct_response: { status: 200 } }]');
    assert.deepEqual(validateEnvoyYaml(twoSpecifiers), [
      `${HCM}.route_config.virtual_hosts[0].routes[0].match: only one of prefix, path may be set (oneof envoy.config.route.v3.RouteMatch.path_specifier)`,
    ]);
    const noAction = mutate(MINIMAL, 'routes: []', 'routes: [{ match: { prefix: / } }]');
    assert.deepEqual(validateEnvoyYaml(noAction), [
      `${HCM}.route_config.virtual_hosts[0].routes[0]: one of route, redirect, direct_response, filter_action, non_forwarding_action is required (envoy.config.route.v3.Route.action)`,
    ]);
    const noMatch = mutate(MINIMAL, 'routes: []', 'routes: [{ direct_response: { status: 200 } }]');
    assert.deepEqual(validateEnvoyYaml(noMatch), [`${HCM}.route_config.virtual_hosts[0].routes[0].match: required field envoy.config.route.v3.Route.match is missing`]);
    const nullIsUnset = mutate(MINIMAL, 'routes: []', 'routes: [{ match: { prefix: / }, direct_response: { status: 200 }, route: null }]');
    assert.deepEqual(validateEnvoyYaml(nullIsUnset), []);
    const textFormat = mutate(MINIMAL, 'stat_prefix: s', 'stat_prefix: s\n                local_reply_config: { body_format: { text_format: x } }');
    assert.deepEqual(validateEnvoyYaml(textFormat), [`${HCM}.local_reply_config.body_format.text_format: deprecated field envoy.config.core.v3.SubstitutionFormatString.text_format`]);
  });

  it('checks the hand-listed newer fields by name and type', async () => {
    const bootstrap = await bootstrapFor(`${TWO_BACKENDS}\nenvoy: { rateLimit: {} }\n`);
    const json = JSON.stringify(bootstrap);
    assert.deepEqual(validateEnvoyConfig(JSON.parse(json)), []);
    const policies = `${HCM}.route_config.virtual_hosts[0].routes[0].typed_per_filter_config."envoy.filters.http.ratelimit".rate_limits`;
    const wrong = JSON.parse(json.replace('"apply_on_stream_done":true', '"apply_on_stream_done":"yes"').replace('{"number":0}', '{"numbr":0}')) as JsonMap;
    assert.deepEqual(validateEnvoyConfig(wrong), [
      `${policies}[1].apply_on_stream_done: expected true or false, got string "yes"`,
      `${policies}[2].hits_addend.numbr: unknown field "numbr" in envoy.config.route.v3.RateLimit.HitsAddend`,
    ]);
    const negative = JSON.parse(json.replace('{"number":0}', '{"number":-1}')) as JsonMap;
    assert.deepEqual(validateEnvoyConfig(negative), [`${policies}[2].hits_addend.number: -1 is out of range for uint64 (google.protobuf.UInt64Value)`]);
  });

  it('lists only fields the shipped protos really lack (delete an entry once they have it)', () => {
    const root = envoyProtoRoot();
    for (const field of NEWER_FIELDS) {
      assert.ok(root.lookupType(field.message), `${field.message} exists in the shipped protos`);
      const shipped = root.shippedDefinition(`${field.message}.${field.name}`);
      if (field.replacesType) assert.equal(shipped, field.replacesType, `${field.message}.${field.name} still has the old type`);
      else assert.equal(shipped, null, `${field.message}.${field.name} is absent from the shipped protos`);
      assert.match(field.since, /^1\.\d+$/);
    }
    for (const message of NEWER_MESSAGES) {
      root.lookupType(message.name.slice(0, message.name.lastIndexOf('.')));
      assert.equal(root.shippedDefinition(message.name), null, `${message.name} is absent from the shipped protos`);
    }
  });
});
