/**
 * Reads a Responses stream from the official `openai` client as an application would, and checks the event
 * grammar: sequence numbers 0..n-1, `response.created` then `response.in_progress` first, one terminal event
 * last, every item added before its parts and deltas and done before the next item is added, and the deltas of
 * each text part and function call adding up to its `*.done` value.
 */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';

type Event = OpenAI.Responses.ResponseStreamEvent;

export interface CollectedResponses {
  readonly events: Event[];
  text: string;
  calls: { call_id: string; name: string; arguments: string }[];
  /** The last event, if it is response.completed / incomplete / failed. */
  terminal: OpenAI.Responses.Response | undefined;
  terminalType: string | undefined;
}

export function emptyResponses(): CollectedResponses {
  return { events: [], text: '', calls: [], terminal: undefined, terminalType: undefined };
}

const TERMINAL = new Set(['response.completed', 'response.incomplete', 'response.failed']);

/** Collects every event into `into` (readable when the stream throws). */
export async function collectResponses(stream: AsyncIterable<Event>, into: CollectedResponses = emptyResponses()): Promise<CollectedResponses> {
  for await (const event of stream) {
    into.events.push(event);
    if (event.type === 'response.output_text.delta') into.text += event.delta;
    if (event.type === 'response.output_item.done' && event.item.type === 'function_call') {
      into.calls.push({ call_id: event.item.call_id, name: event.item.name, arguments: event.item.arguments });
    }
    if (TERMINAL.has(event.type) && 'response' in event) {
      into.terminal = event.response;
      into.terminalType = event.type;
    }
  }
  return into;
}

/** Asserts the Responses event grammar over a collected stream. */
export function assertResponsesGrammar(events: readonly Event[]): void {
  assert.ok(events.length >= 3, 'a stream has at least created, in_progress and a terminal event');
  assert.deepEqual(events.map((event) => event.sequence_number), events.map((_, index) => index), 'sequence_number counts from 0');
  assert.equal(events[0]?.type, 'response.created');
  assert.equal(events[1]?.type, 'response.in_progress');
  assert.ok(TERMINAL.has(events.at(-1)?.type ?? ''), `ends with a terminal event, not ${events.at(-1)?.type}`);
  let open: string | undefined;
  const texts = new Map<string, string>();
  const args = new Map<string, string>();
  for (const event of events.slice(2, -1)) {
    switch (event.type) {
      case 'response.output_item.added':
        assert.equal(open, undefined, 'the previous item is done before the next is added');
        open = event.item.id;
        break;
      case 'response.output_item.done':
        assert.equal(event.item.id, open);
        open = undefined;
        break;
      case 'response.output_text.delta':
        assert.equal(event.item_id, open);
        texts.set(event.item_id, (texts.get(event.item_id) ?? '') + event.delta);
        break;
      case 'response.output_text.done':
        assert.equal(event.text, texts.get(event.item_id) ?? '');
        break;
      case 'response.function_call_arguments.delta':
        assert.equal(event.item_id, open);
        args.set(event.item_id, (args.get(event.item_id) ?? '') + event.delta);
        break;
      case 'response.function_call_arguments.done':
        assert.equal(event.arguments, args.get(event.item_id) ?? '');
        break;
      default:
        if ('item_id' in event && typeof event.item_id === 'string') assert.equal(event.item_id, open, `${event.type} belongs to the open item`);
    }
  }
  assert.equal(open, undefined, 'every item is done before the terminal event');
}
