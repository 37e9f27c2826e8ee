/**
 * V8's heap growing factor, raised only while a large request body is in flight.
 *
 * V8 starts a full (mark-compact) collection when its old generation, plus the memory outside its heap allocated since
 * the last one (Node's buffers), passes a limit it derives from the live heap. The service's live heap is small
 * (~15 MB) and a request with a 2 MB body allocates ~8 MB of buffers (the gRPC message, the edited body, the answer's
 * frame), so with V8's own factor such requests set off a full collection every other request: about half of their
 * CPU (docs/performance.md). Letting the heap grow further between collections (`--heap-growing-percent`) removes
 * most of them, but under sustained small-request traffic memory then levels off higher and keeps creeping up for
 * longer. So the factor is raised while at least one large body is in flight and set back to V8's own (0) when the
 * last one ends. V8 reads the flag when it sizes the heap after each collection.
 */
import { setFlagsFromString } from 'node:v8';

/** From this size a request body raises the factor (a 2 MB body did; 6 KB bodies never needed it). */
export const LARGE_BODY_BYTES = 512 * 1024;

const released = (): void => undefined;

export class LargeBodyHeapGrowth {
  private inFlight = 0;

  /** `percent`: the factor while large bodies are in flight (0: never changed). `setFlags` is V8's (tests pass theirs). */
  constructor(
    private readonly percent: number,
    private readonly setFlags: (flags: string) => void = setFlagsFromString,
  ) {}

  /** A large body is in flight until the returned function is called (at most once counts). */
  hold(): () => void {
    if (this.percent === 0) return released;
    this.inFlight += 1;
    if (this.inFlight === 1) this.setFlags(`--heap-growing-percent=${this.percent}`);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inFlight -= 1;
      if (this.inFlight === 0) this.setFlags('--heap-growing-percent=0');
    };
  }
}
