/**
 * The StreamTranslator for Anthropic SSE (first-party and Vertex streamRawPredict): an incremental SSE decoder
 * feeding AnthropicStreamMapper. Events may be split anywhere across chunks; the output of one push is the
 * concatenation of what its complete events produced.
 */
import { isRecord, readCompactIndexedText, safeParseJson } from '../../core/json.js';
import { SseDecoder, type DecodedSseItem, type SseItem } from '../../core/sse.js';
import type { TokenUsage } from '../../core/usage.js';
import type { RequestContext, StreamStep, StreamTranslator, Warning } from '../types.js';
import { AnthropicStreamMapper } from './stream-mapper.js';

/** Concatenates mapper steps into one (bytes and delivered text joined; last usage and model; first error). */
export function combineSteps(steps: readonly StreamStep[], usageBefore: TokenUsage | undefined): StreamStep {
  if (steps.length === 1) return steps[0] as StreamStep;
  let length = 0;
  for (const step of steps) length += step.body.length;
  const body = new Uint8Array(length);
  let offset = 0;
  let usage = usageBefore;
  let responseModel: string | undefined;
  let deliveredText = '';
  let error: StreamStep['error'];
  const warnings: Warning[] = [];
  let events: DecodedSseItem[] | undefined = [];
  for (const step of steps) {
    if (!step.events) events = undefined;
    else if (events) for (const event of step.events) events.push(event);
    body.set(step.body, offset);
    offset += step.body.length;
    usage = step.usage ?? usage;
    responseModel = step.responseModel ?? responseModel;
    deliveredText += step.deliveredText ?? '';
    error = error ?? step.error;
    if (step.warnings) warnings.push(...step.warnings);
  }
  return {
    body,
    usage,
    deliveredText,
    ...(responseModel !== undefined ? { responseModel } : {}),
    ...(error ? { error } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    ...(events ? { events } : {}),
  };
}

/** A StreamTranslator that feeds decoded Anthropic events to one AnthropicStreamMapper (SSE here, AWS event stream for Bedrock). */
export abstract class AnthropicMappedStream implements StreamTranslator {
  protected readonly mapper: AnthropicStreamMapper;
  private usage: TokenUsage | undefined;

  constructor(ctx: RequestContext) {
    this.mapper = new AnthropicStreamMapper(ctx);
  }

  abstract push(chunk: Uint8Array): StreamStep;
  abstract end(): StreamStep;

  /** One step for what a push or end produced (an idle step when nothing), usage carried across steps. */
  protected combine(steps: readonly StreamStep[]): StreamStep {
    const step = combineSteps(steps.length > 0 ? steps : [this.mapper.idle()], this.usage);
    this.usage = step.usage;
    return step;
  }
}

/**
 * Most events of an Anthropic stream: a text delta exactly as the API writes it (compact JSON, these keys in this
 * order, a text with nothing escaped), read without JSON.parse into the value JSON.parse gives. Undefined for anything
 * else, which is parsed.
 */
export function compactTextDelta(data: string): Record<string, unknown> | undefined {
  const read = readCompactIndexedText(data, '{"type":"content_block_delta","index":', ',"delta":{"type":"text_delta","text":"');
  if (read === undefined || read.rest !== '"}}') return undefined;
  return { type: 'content_block_delta', index: read.index, delta: { type: 'text_delta', text: read.text } };
}

export class AnthropicSseStream extends AnthropicMappedStream {
  private readonly decoder: SseDecoder;

  constructor(ctx: RequestContext) {
    super(ctx);
    this.decoder = new SseDecoder({ maxEventBytes: ctx.maxStreamEventBytes });
  }

  push(chunk: Uint8Array): StreamStep {
    return this.map(this.decoder.push(chunk), false);
  }

  end(): StreamStep {
    return this.map(this.decoder.end(), true);
  }

  private map(items: readonly SseItem[], last: boolean): StreamStep {
    const steps: StreamStep[] = [];
    for (const item of items) {
      if (item.type !== 'event' || item.data.trim() === '') continue;
      const delta = compactTextDelta(item.data);
      if (delta !== undefined) {
        steps.push(this.mapper.onEvent('content_block_delta', delta));
        continue;
      }
      const parsed = safeParseJson(item.data);
      if (!parsed.ok) {
        steps.push(this.mapper.fail({ status: 502, message: 'upstream sent an undecodable stream event', type: 'upstream_error' }));
        continue;
      }
      const payloadType = isRecord(parsed.value) && typeof parsed.value.type === 'string' ? parsed.value.type : undefined;
      steps.push(this.mapper.onEvent(payloadType ?? item.event ?? '', parsed.value));
    }
    if (last) steps.push(this.mapper.finish());
    return this.combine(steps);
  }
}
