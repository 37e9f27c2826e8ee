/**
 * Reads the response id and the finish reasons from what the client receives (OpenAI chat, Responses or Anthropic shape, a whole
 * JSON body or a stream of SSE events). Only used when a span records; stream events are parsed only until the id
 * is known, and after that only those that carry a finish reason.
 */
import { SseDecoder } from '../core/sse.js';
import { asArray, asString, isRecord, safeParseJson } from '../core/json.js';

const FINISH_MARKERS = ['finish_reason', 'stop_reason', 'response.completed', 'response.incomplete', 'response.failed'];
/** The Responses API has no finish reason: a terminal response's status stands for it (incomplete: its reason). */
const RESPONSES_TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);
const MAX_FINISH_REASONS = 16;

export class ResponseFacts {
  id: string | undefined;
  readonly finishReasons: string[] = [];
  private decoder: SseDecoder | undefined;

  /** A whole JSON body. */
  document(body: Uint8Array): void {
    const parsed = safeParseJson(body);
    if (parsed.ok && isRecord(parsed.value)) this.read(parsed.value);
  }

  /** One chunk of an event stream, split anywhere. */
  chunk(bytes: Uint8Array): void {
    this.decoder ??= new SseDecoder();
    for (const item of this.decoder.push(bytes)) {
      if (item.type !== 'event' || item.data === '[DONE]') continue;
      if (this.id !== undefined && !FINISH_MARKERS.some((marker) => item.data.includes(marker))) continue;
      const parsed = safeParseJson(item.data);
      if (parsed.ok && isRecord(parsed.value)) this.read(parsed.value);
    }
  }

  private read(value: Record<string, unknown>): void {
    // Responses: {object: "response", id, status} or events {type, response: {...}}.
    const response = value['object'] === 'response' ? value : isRecord(value['response']) ? value['response'] : undefined;
    if (response) {
      this.id ??= asString(response['id']);
      const terminal = value['object'] === 'response' || RESPONSES_TERMINAL.has(String(value['type']));
      if (terminal && response['status'] !== 'in_progress') {
        const incomplete = isRecord(response['incomplete_details']) ? asString(response['incomplete_details']['reason']) : undefined;
        this.addReason(incomplete ?? response['status']);
      }
      return;
    }
    // OpenAI: {id, choices[{finish_reason}]}; Anthropic: {id, stop_reason} or events
    // message_start {message: {id}} and message_delta {delta: {stop_reason}}.
    const message = isRecord(value['message']) ? value['message'] : undefined;
    this.id ??= asString(value['id']) ?? (message ? asString(message['id']) : undefined);
    for (const choice of asArray(value['choices']) ?? []) {
      if (isRecord(choice)) this.addReason(choice['finish_reason']);
    }
    this.addReason(value['stop_reason']);
    if (isRecord(value['delta'])) this.addReason(value['delta']['stop_reason']);
  }

  private addReason(reason: unknown): void {
    if (typeof reason !== 'string' || reason === '' || this.finishReasons.length >= MAX_FINISH_REASONS) return;
    this.finishReasons.push(reason.slice(0, 64));
  }
}
