/**
 * For state that has no event to await (a map or a gauge inside the service, a flag a mock sets on 'close'):
 * re-checks `condition` every 10 ms and returns as soon as it holds, however slow the machine is. The limit is a
 * backstop, not a timing assumption: it only decides how long a real leak takes to fail, with `what` in the
 * message instead of a bare per-test timeout. Prefer awaiting an event (a promise, `once`) wherever there is one.
 */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`still waiting after ${limitMs} ms: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
