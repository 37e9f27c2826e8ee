/** What every per-stream processor implements, and what they share. */
import type { LargeBodyHeapGrowth } from './heap-growth.js';
import type { ConfigStore } from '../config/store.js';
import type { Logger } from '../logging.js';
import type { GatewayMetrics } from '../metrics/metrics.js';
import type { TranslatorTable } from '../translators/table.js';
import type { Tracing } from '../tracing/types.js';
import type { ExchangeRegistry } from './exchange.js';
import type { ProcessingRequest, ProcessingResponse } from './ext-proc-types.js';

export interface ProcessorDeps {
  readonly configStore: Pick<ConfigStore, 'current'>;
  readonly registry: ExchangeRegistry;
  readonly translators: TranslatorTable;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** Present only when tracing is on (src/service.ts); processors do no tracing work without it. */
  readonly tracing?: Tracing | undefined;
  /** Raises V8's heap growing factor while a large request body is in flight (src/server/heap-growth.ts). */
  readonly heapGrowth?: LargeBodyHeapGrowth | undefined;
}

export type StreamEnd = 'end' | 'cancelled' | 'error';

export type MaybePromise<T> = T | Promise<T>;

/** `next` applied to `value`: at once, or when the promise resolves (so a value costs no promise round trip). */
export function thenMaybe<T, U>(value: MaybePromise<T>, next: (value: T) => U): MaybePromise<U> {
  return value instanceof Promise ? value.then(next) : next(value);
}

/** `run()`, with `recover`'s answer for what it throws or rejects with. */
export function recoverMaybe<T>(run: () => MaybePromise<T>, recover: (error: unknown) => T): MaybePromise<T> {
  let result: MaybePromise<T>;
  try {
    result = run();
  } catch (error) {
    return recover(error);
  }
  return result instanceof Promise ? result.catch(recover) : result;
}

export interface StreamProcessor {
  /**
   * Answers one message (undefined: nothing to send, e.g. observability mode). Synchronously when nothing has to
   * wait (a streamed chunk, headers), so a message costs no promise round trips; a promise otherwise.
   */
  handle(message: ProcessingRequest): MaybePromise<ProcessingResponse | undefined>;
  /** The stream is over, however it ended. Called once. */
  close(reason: StreamEnd): void;
}
