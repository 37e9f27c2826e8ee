/**
 * The stream translator of an operation that never streams (the token counts): a stream answer passes through
 * untouched, with no usage.
 */
import type { StreamStep, StreamTranslator } from '../types.js';

export class UnchangedStream implements StreamTranslator {
  push(chunk: Uint8Array): StreamStep {
    return { body: chunk, usage: undefined };
  }
  end(): StreamStep {
    return { body: new Uint8Array(0), usage: undefined };
  }
}
