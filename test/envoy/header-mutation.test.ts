import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HeaderMutation } from '../../src/server/ext-proc-types.js';
import { applyHeaderMutation, checkMutation } from './header-mutation.js';
import { HeaderMap } from './header-map.js';
import { newCounters } from './types.js';

function apply(mutation: HeaderMutation, initial: Array<[string, string]>, replacingMessage = false, skipContentLength = false) {
  const headers = HeaderMap.fromPairs(initial);
  const counters = newCounters();
  const result = applyHeaderMutation(mutation, headers, {
    replacingMessage,
    skipContentLength,
    count: (name) => (counters[name] += 1),
  });
  return { result, headers, counters };
}

const raw = (key: string, value: string, append?: boolean) => ({
  header: { key, raw_value: Buffer.from(value) },
  ...(append === undefined ? {} : { append: { value: append } }),
});

describe('header mutation (mutation_utils + default mutation_rules)', () => {
  it('reads raw_value only: a value-only entry sets an empty header', () => {
    const { result, headers } = apply({ set_headers: [{ header: { key: 'x-a', value: 'ignored' } }] }, [[':path', '/']]);
    assert.deepEqual(result, { ok: true });
    assert.equal(headers.get('x-a'), '');
  });

  it('fails the answer when both value and raw_value are set', () => {
    const { result, counters } = apply({ set_headers: [{ header: { key: 'x-a', value: 'v', raw_value: Buffer.from('v') } }] }, []);
    assert.deepEqual(result, { ok: false, message: 'Only one of value or raw_value in the HeaderValue message should be set.' });
    assert.equal(counters.rejected_header_mutations, 1);
  });

  it('overwrites when append is unset, appends when true (inline headers comma-joined)', () => {
    const { headers } = apply(
      { set_headers: [raw('x-dup', 'new'), raw('accept', 'b', true), raw('x-other', 'two', true)] },
      [['x-dup', 'one'], ['x-dup', 'two'], ['accept', 'a'], ['x-other', 'one']],
    );
    assert.deepEqual(headers.getAll('x-dup'), ['new']);
    assert.equal(headers.get('accept'), 'a,b');
    assert.deepEqual(headers.getAll('x-other'), ['one', 'two']);
  });

  it('applies removes before sets, whatever their order in the message', () => {
    const { headers } = apply({ set_headers: [raw('x-a', 'set')], remove_headers: ['x-a'] }, [['x-a', 'old']]);
    assert.equal(headers.get('x-a'), 'set');
  });

  it('skips and counts refused mutations, applying the rest', () => {
    const { result, headers, counters } = apply(
      {
        set_headers: [raw(':authority', 'evil'), raw('host', 'evil'), raw(':scheme', 'ftp'), raw(':method', 'PUT'), raw('x-envoy-foo', '1'), raw('x-ok', '1')],
        remove_headers: [':path', 'host', 'x-envoy-attempt-count'],
      },
      [[':authority', 'a'], [':path', '/p'], [':method', 'POST'], [':scheme', 'http'], ['x-envoy-attempt-count', '1']],
    );
    assert.deepEqual(result, { ok: true });
    assert.equal(counters.rejected_header_mutations, 8);
    assert.equal(headers.get(':authority'), 'a');
    assert.equal(headers.get(':path'), '/p');
    assert.equal(headers.get(':method'), 'POST');
    assert.equal(headers.get('x-envoy-attempt-count'), '1');
    assert.equal(headers.get('x-envoy-foo'), undefined);
    assert.equal(headers.get('x-ok'), '1');
  });

  it('lets :path change, and :method only with CONTINUE_AND_REPLACE', () => {
    assert.equal(apply({ set_headers: [raw(':path', '/new')] }, [[':path', '/old']]).headers.get(':path'), '/new');
    assert.equal(apply({ set_headers: [raw(':method', 'PUT')] }, [[':method', 'POST']], true).headers.get(':method'), 'PUT');
  });

  it('fails on invalid characters in names or values', () => {
    assert.deepEqual(apply({ set_headers: [raw('x-a', 'bad\r\nvalue')] }, []).result, {
      ok: false,
      message: 'Invalid character in set_headers mutation.',
    });
    assert.deepEqual(apply({ set_headers: [raw('bad name', 'v')] }, []).result, {
      ok: false,
      message: 'Invalid character in set_headers mutation.',
    });
    assert.deepEqual(apply({ remove_headers: ['bad name'] }, []).result, {
      ok: false,
      message: 'Invalid character in remove_headers mutation.',
    });
  });

  it('accepts :status of 200 or more only', () => {
    assert.equal(checkMutation('SET', ':status', '404', {}), 'OK');
    assert.equal(checkMutation('SET', ':status', '101', {}), 'IGNORE');
    assert.equal(checkMutation('SET', ':status', 'abc', {}), 'IGNORE');
    assert.equal(checkMutation('REMOVE', 'host', '', { disallowIsError: true }), 'FAIL');
  });

  it('silently skips content-length sets while the direction strips it', () => {
    const { headers, counters } = apply({ set_headers: [raw('content-length', '5')] }, [['content-length', '9']], false, true);
    assert.equal(headers.get('content-length'), '9');
    assert.equal(counters.rejected_header_mutations, 0);
  });

  it('fails when the result exceeds the header count limit', () => {
    const sets = Array.from({ length: 100 }, (_, index) => raw(`x-h${index}`, 'v'));
    const { result } = apply({ set_headers: sets }, [[':path', '/']]);
    assert.equal(result.ok, false);
  });
});
