/**
 * Bedrock InvokeModelWithResponseStream for Claude -> OpenAI SSE. The AWS event stream carries `chunk` frames
 * whose payload is `{"bytes": "<base64 of one Anthropic stream event>"}`; each unwrapped event goes to the
 * Anthropic stream mapper. Exception frames (throttlingException, modelStreamErrorException, ...) and corrupt
 * framing end the stream with an OpenAI error event (StreamStep.error), as Anthropic `error` events do.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModelWithResponseStream.html
 * @see https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-anthropic-claude-messages.html
 */
import { EventStreamDecoder, headerString, type EventStreamMessage } from '../../core/aws-eventstream.js';
import { asString, isRecord, safeParseJson } from '../../core/json.js';
import { AnthropicMappedStream } from '../anthropic/index.js';
import { eventStreamFramingError, readBedrockMessage, statusForBedrockException } from '../bedrock/convert-error.js';
import type { RequestContext, StreamStep } from '../types.js';

export class InvokeClaudeStream extends AnthropicMappedStream {
  private readonly decoder: EventStreamDecoder;

  constructor(ctx: RequestContext) {
    super(ctx);
    this.decoder = new EventStreamDecoder({ maxFrameBytes: ctx.maxStreamEventBytes });
  }

  push(chunk: Uint8Array): StreamStep {
    const decoded = this.decoder.push(chunk);
    const steps = decoded.messages.map((message) => this.onMessage(message));
    if (decoded.error) steps.push(this.mapper.fail(eventStreamFramingError(decoded.error, false)));
    return this.combine(steps);
  }

  end(): StreamStep {
    const decoded = this.decoder.end();
    const steps: StreamStep[] = [];
    if (decoded.error) steps.push(this.mapper.fail(eventStreamFramingError(decoded.error, true)));
    steps.push(this.mapper.finish());
    return this.combine(steps);
  }

  private onMessage(message: EventStreamMessage): StreamStep {
    const messageType = headerString(message, ':message-type') ?? 'event';
    if (messageType === 'exception' || messageType === 'error') {
      const name = headerString(message, ':exception-type') ?? headerString(message, ':error-code') ?? headerString(message, ':event-type');
      const parsed = safeParseJson(message.body);
      const text = (parsed.ok ? readBedrockMessage(parsed.value) : undefined) ?? headerString(message, ':error-message') ?? 'Bedrock stream error';
      return this.mapper.fail({ status: statusForBedrockException(name), message: text, type: name ?? 'upstream_error' });
    }
    if (headerString(message, ':event-type') !== 'chunk') return this.mapper.idle();
    const payload = safeParseJson(message.body);
    const bytes = payload.ok && isRecord(payload.value) ? asString(payload.value.bytes) : undefined;
    const inner = bytes === undefined ? undefined : safeParseJson(Buffer.from(bytes, 'base64'));
    if (!inner?.ok || !isRecord(inner.value)) {
      return this.mapper.fail({ status: 502, message: 'Bedrock sent an undecodable stream chunk', type: 'upstream_error' });
    }
    return this.mapper.onEvent(asString(inner.value.type) ?? '', inner.value);
  }
}
