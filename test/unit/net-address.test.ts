import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { grpcBindTarget, parseListenAddress } from '../../src/net-address.js';

describe('parseListenAddress', () => {
  const valid = [
    ['0.0.0.0:1063', { kind: 'tcp', host: '0.0.0.0', port: 1063 }, '0.0.0.0:1063'],
    ['localhost:0', { kind: 'tcp', host: 'localhost', port: 0 }, 'localhost:0'],
    ['[::1]:1064', { kind: 'tcp', host: '::1', port: 1064 }, '[::1]:1064'],
    ['[::]:8080', { kind: 'tcp', host: '::', port: 8080 }, '[::]:8080'],
    ['unix:/run/llm-extproc.sock', { kind: 'unix', path: '/run/llm-extproc.sock' }, 'unix:/run/llm-extproc.sock'],
    ['unix:///tmp/x.sock', { kind: 'unix', path: '/tmp/x.sock' }, 'unix:/tmp/x.sock'],
  ] as const;
  for (const [text, address, target] of valid) {
    it(`parses ${text}`, () => {
      const parsed = parseListenAddress(text);
      assert.deepEqual(parsed, { ok: true, address });
      assert.ok(parsed.ok);
      assert.equal(grpcBindTarget(parsed.address), target);
    });
  }

  const invalid = [
    ['1063', /expected host:port/],
    [':1063', /expected host:port/],
    ['host:http', /port must be a number/],
    ['host:70000', /port must be 0-65535/],
    ['::1:1063', /brackets/],
    ['unix:relative.sock', /absolute/],
  ] as const;
  for (const [text, message] of invalid) {
    it(`rejects ${text}`, () => {
      const parsed = parseListenAddress(text);
      assert.equal(parsed.ok, false);
      assert.ok(!parsed.ok);
      assert.match(parsed.error, message);
    });
  }
});
