/** Reads parsed Anthropic stream events (native SSE or unwrapped Bedrock chunks) for usage, model, text and errors. */
import type { ErrorShape } from '../../core/errors.js';
import { isRecord } from '../../core/json.js';
import type { StreamStep } from '../types.js';
import { errorShapeOfEvent } from './anthropic-error.js';
import { AnthropicUsageTracker, deliveredTextOf } from './anthropic-usage.js';

/** Reads parsed Anthropic stream events: usage, model, delivered text, errors. */
export class AnthropicEventObserver {
  private readonly tracker = new AnthropicUsageTracker();
  private completed = false;
  private failed = false;

  /** Observes one event; returns the text it delivered and the error it carried, if any. */
  observe(event: unknown): { deliveredText: string; error: ErrorShape | undefined } {
    if (!isRecord(event)) return { deliveredText: '', error: undefined };
    this.tracker.observe(event);
    if (event.type === 'message_stop') this.completed = true;
    if (event.type === 'error') {
      this.failed = true;
      return { deliveredText: '', error: errorShapeOfEvent(event) };
    }
    return { deliveredText: deliveredTextOf(event), error: undefined };
  }

  /**
   * At the end of the body: the error for a stream that stopped before `message_stop` without reporting an error
   * (nothing is invented to complete it), else undefined.
   */
  cutShort(): ErrorShape | undefined {
    if (this.completed || this.failed) return undefined;
    this.failed = true;
    return { status: 502, type: 'api_error', message: 'upstream stream ended before message_stop' };
  }

  /** A step for `body` with the state observed so far. */
  step(body: Uint8Array, deliveredText: string, error: ErrorShape | undefined): StreamStep {
    const model = this.tracker.model;
    return {
      body,
      usage: this.tracker.usage,
      ...(model !== undefined ? { responseModel: model } : {}),
      ...(deliveredText !== '' ? { deliveredText } : {}),
      ...(error ? { error } : {}),
    };
  }
}
