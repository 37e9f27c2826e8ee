/**
 * A stream translated in two steps: the backend's translator turns its stream into OpenAI chat chunks, and an
 * outer translator re-frames those chunks in the client's API (Anthropic Messages events, Responses events).
 */
import type { TokenUsage } from '../../core/usage.js';
import type { StreamStep, StreamTranslator } from '../types.js';

/** The outer step: reads OpenAI chat chunks, and takes the exact usage the backend's translator read. */
export interface ChatChunkReframer extends StreamTranslator {
  useUsage(usage: TokenUsage): void;
}

export class PivotStream implements StreamTranslator {
  constructor(
    private readonly inner: StreamTranslator,
    private readonly outer: ChatChunkReframer,
  ) {}

  push(chunk: Uint8Array): StreamStep {
    return this.combine(this.inner.push(chunk), false);
  }

  end(): StreamStep {
    return this.combine(this.inner.end(), true);
  }

  private combine(step: StreamStep, final: boolean): StreamStep {
    if (step.usage) this.outer.useUsage(step.usage);
    const first = this.outer.push(step.body);
    const last = final ? this.outer.end() : undefined;
    const body = last && last.body.length > 0 ? concat(first.body, last.body) : first.body;
    // The failure the client saw, with the status the backend translator gave it.
    const shown = first.error ?? last?.error;
    const error = shown && step.error ? { ...shown, status: step.error.status } : (shown ?? step.error);
    const warnings = [...(step.warnings ?? []), ...(first.warnings ?? []), ...(last?.warnings ?? [])];
    const deliveredText = (first.deliveredText ?? '') + (last?.deliveredText ?? '');
    const responseModel = step.responseModel ?? last?.responseModel ?? first.responseModel;
    return {
      body,
      usage: step.usage ?? last?.usage ?? first.usage,
      ...(responseModel === undefined ? {} : { responseModel }),
      ...(deliveredText === '' ? {} : { deliveredText }),
      ...(error ? { error } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
    };
  }
}

function concat(left: Uint8Array, right: Uint8Array): Uint8Array {
  const out = new Uint8Array(left.length + right.length);
  out.set(left, 0);
  out.set(right, left.length);
  return out;
}
