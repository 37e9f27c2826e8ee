/**
 * Bedrock InvokeModelWithResponseStream (Claude) -> native Anthropic SSE for an Anthropic Messages client.
 *
 * Each AWS event-stream frame `:event-type: chunk` carries `{"bytes": "<base64 Anthropic event JSON>"}`; the
 * event is re-emitted as `event: <type>\ndata: <the decoded JSON>\n\n`, exactly as the first-party API frames it.
 * Exception frames (`:message-type: exception`, e.g. throttlingException) and corrupt or truncated streams
 * become an Anthropic `event: error`, and the stream stops there; so does a stream that ends before `message_stop`.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html
 */
import { EventStreamDecoder, headerString, type EventStreamDecodeResult, type EventStreamMessage } from '../../core/aws-eventstream.js';
import type { ErrorShape } from '../../core/errors.js';
import { asString, isRecord, safeParseJson, utf8 } from '../../core/json.js';
import { encodeSseEvent } from '../../core/sse.js';
import type { RequestContext, StreamStep, StreamTranslator } from '../types.js';
import { anthropicErrorEvent } from './anthropic-error.js';
import { AnthropicEventObserver } from './event-observer.js';

/** Bedrock exception type -> HTTP status and Anthropic error type. */
const EXCEPTIONS: Readonly<Record<string, { status: number; type: string }>> = {
  throttlingException: { status: 429, type: 'rate_limit_error' },
  serviceUnavailableException: { status: 503, type: 'overloaded_error' },
  validationException: { status: 400, type: 'invalid_request_error' },
  modelTimeoutException: { status: 504, type: 'timeout_error' },
  modelStreamErrorException: { status: 500, type: 'api_error' },
  internalServerException: { status: 500, type: 'api_error' },
};

const textDecoder = new TextDecoder('utf-8', { fatal: false });

function exceptionShape(message: EventStreamMessage): ErrorShape {
  const name = headerString(message, ':exception-type') ?? headerString(message, ':error-code') ?? 'exception';
  const parsed = safeParseJson(message.body);
  const text = parsed.ok && isRecord(parsed.value) ? (asString(parsed.value.message) ?? asString(parsed.value.Message)) : undefined;
  const known = Object.hasOwn(EXCEPTIONS, name) ? EXCEPTIONS[name] : undefined;
  return { status: known?.status ?? 500, type: known?.type ?? 'api_error', message: `${name}: ${text ?? 'Bedrock stream failed'}` };
}

export class AwsAnthropicStream implements StreamTranslator {
  private readonly decoder: EventStreamDecoder;
  private readonly observer = new AnthropicEventObserver();
  private failed = false;

  constructor(ctx: RequestContext) {
    this.decoder = new EventStreamDecoder({ maxFrameBytes: ctx.maxStreamEventBytes });
  }

  push(chunk: Uint8Array): StreamStep {
    return this.translate(this.failed ? { messages: [] } : this.decoder.push(chunk));
  }

  end(): StreamStep {
    const step = this.translate(this.failed ? { messages: [] } : this.decoder.end());
    const cut = this.failed ? undefined : this.observer.cutShort();
    if (!cut) return step;
    this.failed = true;
    const body = utf8(new TextDecoder().decode(step.body) + anthropicErrorEvent(cut));
    return this.observer.step(body, step.deliveredText ?? '', cut);
  }

  private translate(result: EventStreamDecodeResult): StreamStep {
    let out = '';
    let deliveredText = '';
    let error: ErrorShape | undefined;
    const fail = (shape: ErrorShape) => {
      out += anthropicErrorEvent(shape);
      error ??= shape;
      this.failed = true;
    };
    for (const message of result.messages) {
      if (this.failed) break;
      const messageType = headerString(message, ':message-type') ?? 'event';
      if (messageType !== 'event') {
        fail(exceptionShape(message));
        continue;
      }
      if (headerString(message, ':event-type') !== 'chunk') continue;
      const event = this.unwrap(message);
      if (event === undefined) {
        fail({ status: 502, type: 'api_error', message: 'Bedrock sent an undecodable stream chunk' });
        continue;
      }
      const seen = this.observer.observe(event.value);
      deliveredText += seen.deliveredText;
      if (seen.error) error ??= seen.error;
      out += encodeSseEvent({ event: event.type, data: event.text });
      if (seen.error) this.failed = true;
    }
    if (result.error && !this.failed) fail({ status: 502, type: 'api_error', message: `Bedrock stream is corrupt: ${result.error.message}` });
    return this.observer.step(utf8(out), deliveredText, error);
  }

  /** The Anthropic event inside a `chunk` frame: its JSON text, parsed value and type. */
  private unwrap(message: EventStreamMessage): { text: string; value: Record<string, unknown>; type: string } | undefined {
    const envelope = safeParseJson(message.body);
    const encoded = envelope.ok && isRecord(envelope.value) ? asString(envelope.value.bytes) : undefined;
    if (encoded === undefined) return undefined;
    const text = textDecoder.decode(Buffer.from(encoded, 'base64')).trim();
    const parsed = safeParseJson(text);
    if (!parsed.ok || !isRecord(parsed.value)) return undefined;
    const type = asString(parsed.value.type);
    if (type === undefined || /[\r\n]/.test(type)) return undefined;
    return { text, value: parsed.value, type };
  }
}
