// A node:test reporter for scripts/run-tests.mjs: one JSON line per test as it starts running (test:dequeue, in
// real time) and as it is reported (test:pass / test:fail), so that the runner can name the test that was still
// running when it had to kill a file. Written to a file of its own; the readable output stays node's TAP.
export default async function* progress(source) {
  for await (const event of source) {
    if (event.type !== 'test:dequeue' && event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const { name, nesting } = event.data;
    yield `${JSON.stringify({ type: event.type, name, nesting })}\n`;
  }
}
