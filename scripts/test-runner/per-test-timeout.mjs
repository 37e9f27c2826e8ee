// --import'ed by scripts/run-tests.mjs (with --expose-internals) into every test file's process: every test and hook
// that sets no timeout of its own gets RUN_TESTS_TEST_TIMEOUT_MS. Node 20 has no switch for that: --test-timeout is
// ignored for a file run directly, and under `node --test` it bounds each file as a whole. Suites (describe) get no
// default; each of their tests has one. Tests keep their own location in reports (a wrapper around `it` would not:
// node takes a test's location from the frame that calls it).
import { createRequire } from 'node:module';

const timeoutMs = Number(process.env.RUN_TESTS_TEST_TIMEOUT_MS);
if (Number.isInteger(timeoutMs) && timeoutMs > 0) install(timeoutMs);

function install(timeout) {
  let internals;
  try {
    internals = createRequire(import.meta.url)('internal/test_runner/test');
  } catch {
    internals = undefined;
  }
  const { Test, Suite } = internals ?? {};
  if (typeof Test?.prototype?.createSubtest !== 'function' || typeof Test.prototype.createHook !== 'function' || typeof Suite !== 'function') {
    process.stderr.write(`per-test-timeout: node ${process.version}'s test runner internals are not the expected ones; tests have no default timeout (the runner's per-file limit still applies)\n`);
    return;
  }
  const withTimeout = (options) => (options !== null && typeof options === 'object' ? (options.timeout === undefined ? { ...options, timeout } : options) : { timeout });

  const createSubtest = Test.prototype.createSubtest;
  // test(name?, options?, fn?) arrives here as given; node sorts the arguments out the same way (test.js).
  Test.prototype.createSubtest = function (Factory, name, options, fn, overrides) {
    if (Factory === Suite || Factory.prototype instanceof Suite) return createSubtest.call(this, Factory, name, options, fn, overrides);
    if (typeof name === 'function') options = withTimeout(options);
    else if (name !== null && typeof name === 'object') name = withTimeout(name);
    else if (typeof options === 'function') [options, fn] = [{ timeout }, options];
    else options = withTimeout(options);
    return createSubtest.call(this, Factory, name, options, fn, overrides);
  };

  const createHook = Test.prototype.createHook;
  Test.prototype.createHook = function (name, fn, options) {
    return createHook.call(this, name, fn, withTimeout(options));
  };
}
