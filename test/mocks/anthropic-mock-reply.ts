/**
 * The mock Claude's answers: deterministic, derived from the (already validated) request.
 * - the last user turn holds tool results -> a text answer quoting them (end_turn);
 * - tools offered and either forced (any/tool) or named in the last user text -> tool_use blocks with inputs
 *   sampled from the schemas (stop_reason tool_use; several when several tools are named and parallel use is on);
 * - output_config.format json_schema -> a JSON text sampled from the schema;
 * - otherwise a text that echoes the last user text and counts its images.
 * Thinking (when enabled) comes first, with a signature. Usage is estimated from the request size; cache_control
 * turns part of it into a cache write on first sight of a prefix and a cache read afterwards.
 */
type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export type ReplyBlock =
  | { type: 'text'; text: string }
  | { type: 'thinking'; thinking: string; signature: string }
  | { type: 'tool_use'; id: string; name: string; input: Json };

export interface MockReply {
  readonly content: ReplyBlock[];
  readonly stopReason: 'end_turn' | 'tool_use' | 'max_tokens' | 'stop_sequence';
  readonly stopSequence: string | null;
  readonly usage: { input_tokens: number; output_tokens: number; cache_creation_input_tokens: number; cache_read_input_tokens: number };
}

/** A value that satisfies a (simple) JSON schema; `$ref` into the root `$defs` is followed. */
export function sampleFromSchema(schema: unknown, root: unknown = schema, name = ''): unknown {
  if (!isObject(schema)) return null;
  if (typeof schema.$ref === 'string' && isObject(root) && isObject(root.$defs)) {
    return sampleFromSchema(root.$defs[schema.$ref.replace('#/$defs/', '')], root, name);
  }
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  if (Array.isArray(schema.anyOf)) return sampleFromSchema(schema.anyOf.find((option) => isObject(option) && option.type !== 'null'), root, name);
  switch (schema.type) {
    case 'object': {
      const out: Json = {};
      const properties = isObject(schema.properties) ? schema.properties : {};
      for (const [key, value] of Object.entries(properties)) out[key] = sampleFromSchema(value, root, key);
      return out;
    }
    case 'array':
      return [sampleFromSchema(schema.items, root, name)];
    case 'integer':
    case 'number':
      return 42;
    case 'boolean':
      return true;
    case 'string':
      return /city|location|place/i.test(name) ? 'Paris' : `sample ${name}`.trim();
    default:
      return null;
  }
}

function blocksOf(message: Json | undefined): Json[] {
  if (!message) return [];
  if (typeof message.content === 'string') return [{ type: 'text', text: message.content }];
  return Array.isArray(message.content) ? message.content.filter(isObject) : [];
}

function textOf(blocks: Json[]): string {
  return blocks
    .filter((block) => block.type === 'text')
    .map((block) => String(block.text))
    .join(' ');
}

function toolResultText(block: Json): string {
  if (typeof block.content === 'string') return block.content;
  return Array.isArray(block.content) ? textOf(block.content.filter(isObject)) : '';
}

/** Per-mock state: id counter and the cache prefixes seen so far. */
export interface ReplyState {
  counter: number;
  readonly seenCachePrefixes: Set<string>;
}

export function newReplyState(): ReplyState {
  return { counter: 0, seenCachePrefixes: new Set() };
}

function estimateTokens(value: unknown): number {
  return Math.max(1, Math.ceil(JSON.stringify(value ?? '').length / 4));
}

function chooseTools(body: Json, lastText: string): Json[] {
  const tools = Array.isArray(body.tools) ? body.tools.filter(isObject) : [];
  const choice = isObject(body.tool_choice) ? body.tool_choice : { type: 'auto' };
  if (tools.length === 0 || choice.type === 'none') return [];
  if (choice.type === 'tool') return tools.filter((tool) => tool.name === choice.name);
  const named = tools.filter((tool) => lastText.toLowerCase().includes(String(tool.name).toLowerCase()));
  const picked = named.length > 0 ? named : choice.type === 'any' ? tools.slice(0, 1) : [];
  return choice.disable_parallel_tool_use === true ? picked.slice(0, 1) : picked;
}

function usageFor(body: Json, output: number, state: ReplyState): MockReply['usage'] {
  const total = estimateTokens([body.system, body.tools, body.messages]);
  const text = JSON.stringify(body);
  if (!text.includes('"cache_control"')) return { input_tokens: total, output_tokens: output, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 };
  const prefix = JSON.stringify([body.system, body.tools]);
  const cached = Math.floor(total / 2);
  const seen = state.seenCachePrefixes.has(prefix);
  state.seenCachePrefixes.add(prefix);
  return {
    input_tokens: total - cached,
    output_tokens: output,
    cache_creation_input_tokens: seen ? 0 : cached,
    cache_read_input_tokens: seen ? cached : 0,
  };
}

export function replyTo(body: Json, state: ReplyState): MockReply {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObject) : [];
  const last = blocksOf(messages[messages.length - 1]);
  const lastText = textOf(last);
  const content: ReplyBlock[] = [];
  if (isObject(body.thinking) && body.thinking.type === 'enabled') {
    state.counter += 1;
    content.push({ type: 'thinking', thinking: 'Let me work through this step by step.', signature: `mock-signature-${state.counter}` });
  }
  let stopReason: MockReply['stopReason'] = 'end_turn';
  const results = last.filter((block) => block.type === 'tool_result');
  const tools = results.length > 0 ? [] : chooseTools(body, lastText);
  const format = isObject(body.output_config) && isObject(body.output_config.format) ? body.output_config.format : undefined;
  if (results.length > 0) {
    content.push({ type: 'text', text: `Tool results: ${results.map(toolResultText).join('; ')}` });
  } else if (tools.length > 0) {
    for (const tool of tools) {
      state.counter += 1;
      const input = sampleFromSchema(tool.input_schema);
      content.push({ type: 'tool_use', id: `toolu_mock_${state.counter}`, name: String(tool.name), input: isObject(input) ? input : {} });
    }
    stopReason = 'tool_use';
  } else if (format) {
    content.push({ type: 'text', text: JSON.stringify(sampleFromSchema(format.schema)) });
  } else {
    const images = last.filter((block) => block.type === 'image').map((block) => (isObject(block.source) ? String(block.source.media_type ?? block.source.type) : ''));
    const seen = images.length > 0 ? ` I see ${images.length} image(s): ${images.join(', ')}.` : '';
    content.push({ type: 'text', text: `Hello from mock Claude. You said: ${lastText}.${seen}` });
  }

  let stopSequence: string | null = null;
  const stops = Array.isArray(body.stop_sequences) ? body.stop_sequences.map(String) : [];
  for (const block of content) {
    if (block.type !== 'text') continue;
    const hit = stops.map((stop) => ({ stop, at: block.text.indexOf(stop) })).find((candidate) => candidate.at >= 0);
    if (hit) {
      block.text = block.text.slice(0, hit.at);
      stopReason = 'stop_sequence';
      stopSequence = hit.stop;
    }
  }
  const output = estimateTokens(content);
  const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : 4096;
  if (output > maxTokens && stopReason !== 'tool_use') {
    for (const block of content) if (block.type === 'text') block.text = block.text.slice(0, maxTokens * 4);
    stopReason = 'max_tokens';
  }
  return { content, stopReason, stopSequence, usage: usageFor(body, Math.min(output, maxTokens), state) };
}
