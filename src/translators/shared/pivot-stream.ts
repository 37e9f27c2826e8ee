/**
 * A stream translated in two steps: the backend's translator turns its stream into OpenAI chat chunks, and an
 * outer translator re-frames those chunks in the client's API (Anthropic Messages events, Responses events).
 */
import type { ErrorShape } from '../../core/errors.js';
import { isRecord, safeParseJson, utf8 } from '../../core/json.js';
import { SseDecoder, type SseItem } from '../../core/sse.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, StreamStep, StreamTranslator, Warning } from '../types.js';

/** The outer step: reads OpenAI chat chunks, and takes the exact usage the backend's translator read. */
export interface ChatChunkReframer extends StreamTranslator {
  useUsage(usage: TokenUsage): void;
}

/**
 * What every ChatChunkReframer shares: the SSE decoding of the chat chunks, the exact usage handed in, and one step
 * per push of what `onItem` and `finish` wrote to `out`.
 */
export abstract class ChatChunkReframerBase implements ChatChunkReframer {
  private readonly decoder: SseDecoder;
  protected model: string | undefined;
  /** The usage so far, from the chat usage chunk (or the exact usage once that chunk came). */
  protected usage: TokenUsage | undefined;
  /** Usage the backend's own translator read (PivotStream); it wins over the chat usage chunk. */
  protected exactUsage: TokenUsage | undefined;
  protected out = '';
  protected delivered = '';
  protected error: ErrorShape | undefined;
  protected warnings: Warning[] = [];
  /** The client's stream is over (finished or failed): later chunks are ignored. */
  protected closed = false;

  constructor(protected readonly ctx: RequestContext) {
    this.decoder = new SseDecoder({ maxEventBytes: ctx.maxStreamEventBytes });
  }

  /** The exact usage so far, from the translator that read the backend's own stream. */
  useUsage(usage: TokenUsage): void {
    this.exactUsage = usage;
    if (this.usage !== undefined) this.usage = usage;
  }

  push(chunk: Uint8Array): StreamStep {
    for (const item of this.decoder.push(chunk)) this.onItem(item);
    return this.flush();
  }

  end(): StreamStep {
    for (const item of this.decoder.end()) this.onItem(item);
    this.finish();
    return this.flush();
  }

  private onItem(item: SseItem): void {
    if (this.closed) return;
    if (item.type === 'comment') {
      this.onComment();
      return;
    }
    const data = item.data.trim();
    if (data === '') return;
    if (data === '[DONE]') {
      this.finish();
      return;
    }
    const parsed = safeParseJson(data);
    if (!parsed.ok || !isRecord(parsed.value)) {
      this.fail(this.undecodableEvent());
      return;
    }
    this.onChunk(parsed.value);
  }

  /** An upstream keepalive comment. */
  protected abstract onComment(): void;

  /** One chat chunk: writes the client's events to `out`. */
  protected abstract onChunk(chunk: Record<string, unknown>): void;

  /** The end of the chat stream (`[DONE]` or its end): whatever the client's API still needs. */
  protected abstract finish(): void;

  /** Ends the client's stream with an error. */
  protected abstract fail(error: ErrorShape): void;

  /** The error for a chunk that is not JSON, in the client API's terms. */
  protected abstract undecodableEvent(): ErrorShape;

  /** The usage a step reports. */
  protected stepUsage(): TokenUsage | undefined {
    return this.usage;
  }

  private flush(): StreamStep {
    const step: StreamStep = {
      body: utf8(this.out),
      usage: this.stepUsage(),
      ...(this.model !== undefined ? { responseModel: this.model } : {}),
      ...(this.delivered !== '' ? { deliveredText: this.delivered } : {}),
      ...(this.error ? { error: this.error } : {}),
      ...(this.warnings.length > 0 ? { warnings: this.warnings } : {}),
    };
    this.out = '';
    this.delivered = '';
    this.warnings = [];
    return step;
  }
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
