/**
 * What the Bedrock mock answers, in Converse terms, and how a reply goes on the wire: Converse JSON,
 * ConverseStream event-stream frames, Claude InvokeModel JSON, and InvokeModelWithResponseStream `chunk` frames
 * (`{"bytes": base64 of an Anthropic event}`).
 */
import { encodeFrame, type EventStreamFrame } from '../helpers/aws-eventstream.js';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export type ReplyBlock =
  | { text: string }
  | { toolUse: { toolUseId: string; name: string; input: Json } }
  | { reasoningContent: { reasoningText: { text: string; signature: string } } };

export interface MockReply {
  readonly content: ReplyBlock[];
  readonly stopReason: string;
  readonly usage?: { inputTokens: number; outputTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number };
  /** The tier Bedrock reports it served the request in (`serviceTier.type`); the mock echoes the requested one. */
  readonly serviceTier?: string;
}

export type Operation = 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream' | 'count-tokens';

export interface MockCall {
  readonly operation: Operation;
  readonly modelId: string;
  readonly body: Json;
}

/** A value matching a JSON schema (required properties only), for tool inputs and structured output. */
export function sampleFor(schema: unknown): unknown {
  if (!isObject(schema)) return 'x';
  switch (schema.type) {
    case 'object': {
      const properties = isObject(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? schema.required : Object.keys(properties);
      return Object.fromEntries(required.map((name) => [String(name), sampleFor(properties[String(name)])]));
    }
    case 'array':
      return [];
    case 'integer':
    case 'number':
      return 1;
    case 'boolean':
      return true;
    default:
      return Array.isArray(schema.enum) ? schema.enum[0] : 'Paris';
  }
}

function lastUserBlocks(call: MockCall): Json[] {
  const messages = Array.isArray(call.body.messages) ? call.body.messages : [];
  const last = [...messages].reverse().find((message) => isObject(message) && message.role === 'user');
  if (!isObject(last)) return [];
  if (typeof last.content === 'string') return [{ text: last.content }];
  if (!Array.isArray(last.content)) return [];
  // Anthropic blocks ({type:"text",text}) and Converse blocks ({text}) read the same way here
  return last.content.filter(isObject).map((block) => {
    if (block.type === 'text') return { text: block.text };
    if (block.type === 'tool_result') return { toolResult: { content: block.content } };
    if (block.type === 'image') return { image: {} };
    return block;
  });
}

function declaredTools(call: MockCall): { name: string; schema: unknown }[] {
  const converse = isObject(call.body.toolConfig) && Array.isArray(call.body.toolConfig.tools) ? call.body.toolConfig.tools : [];
  const fromConverse = converse.filter((tool): tool is Json => isObject(tool) && isObject(tool.toolSpec)).map((tool) => {
    const spec = tool.toolSpec as Json;
    return { name: String(spec.name), schema: isObject(spec.inputSchema) ? spec.inputSchema.json : undefined };
  });
  const anthropic = Array.isArray(call.body.tools) ? call.body.tools.filter(isObject).map((tool) => ({ name: String(tool.name), schema: tool.input_schema })) : [];
  return [...fromConverse, ...anthropic];
}

/**
 * The default behaviour: after tool results, a text answer quoting them; with tools declared, a call to the
 * first tool; with a JSON schema requested, a matching JSON text; with images, a count; else an echo.
 */
export function defaultReply(call: MockCall): MockReply {
  const usage = { inputTokens: 20, outputTokens: 10 };
  const blocks = lastUserBlocks(call);
  const results = blocks.filter((block) => isObject(block.toolResult));
  if (results.length > 0) {
    return { content: [{ text: `Tool results: ${JSON.stringify(results.map((block) => (block.toolResult as Json).content))}` }], stopReason: 'end_turn', usage };
  }
  const tools = declaredTools(call);
  if (tools.length > 0) {
    const tool = tools[0] as { name: string; schema: unknown };
    return { content: [{ toolUse: { toolUseId: 'tooluse_mock_1', name: tool.name, input: sampleFor(tool.schema) as Json } }], stopReason: 'tool_use', usage };
  }
  const output = isObject(call.body.outputConfig) ? call.body.outputConfig : undefined;
  const format = output && isObject(output.textFormat) && isObject(output.textFormat.structure) ? output.textFormat.structure.jsonSchema : undefined;
  if (isObject(format) && typeof format.schema === 'string') {
    return { content: [{ text: JSON.stringify(sampleFor(JSON.parse(format.schema))) }], stopReason: 'end_turn', usage };
  }
  const images = blocks.filter((block) => 'image' in block).length;
  if (images > 0) return { content: [{ text: `I see ${images} image(s).` }], stopReason: 'end_turn', usage };
  const text = blocks.map((block) => (typeof block.text === 'string' ? block.text : '')).join(' ');
  return { content: [{ text: `Echo: ${text}` }], stopReason: 'end_turn', usage };
}

function totalUsage(reply: MockReply): Json {
  const usage = reply.usage ?? { inputTokens: 0, outputTokens: 0 };
  return { ...usage, totalTokens: usage.inputTokens + usage.outputTokens + (usage.cacheReadInputTokens ?? 0) + (usage.cacheWriteInputTokens ?? 0) };
}

export function converseJson(reply: MockReply): Json {
  const json: Json = { output: { message: { role: 'assistant', content: reply.content } }, stopReason: reply.stopReason, usage: totalUsage(reply), metrics: { latencyMs: 12 } };
  if (reply.serviceTier !== undefined) json.serviceTier = { type: reply.serviceTier };
  return json;
}

/** The tier a request asked for (`serviceTier.type`), which the mock reports back as the tier it served. */
export function requestedServiceTier(call: MockCall): string | undefined {
  const tier = call.body.serviceTier;
  return isObject(tier) && typeof tier.type === 'string' ? tier.type : undefined;
}

const event = (type: string, body: Json): EventStreamFrame => ({ headers: { ':event-type': type, ':message-type': 'event', ':content-type': 'application/json' }, body });

/** ConverseStream frames: text in small deltas, tool input in two parts. */
export function converseStreamFrames(reply: MockReply): Uint8Array[] {
  const frames: EventStreamFrame[] = [event('messageStart', { role: 'assistant' })];
  reply.content.forEach((block, index) => {
    if ('text' in block) {
      for (let offset = 0; offset < block.text.length; offset += 5) frames.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { text: block.text.slice(offset, offset + 5) } }));
    } else if ('toolUse' in block) {
      frames.push(event('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: block.toolUse.toolUseId, name: block.toolUse.name } } }));
      const input = JSON.stringify(block.toolUse.input);
      if (input !== '{}') {
        const half = Math.floor(input.length / 2);
        frames.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: input.slice(0, half) } } }));
        frames.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: input.slice(half) } } }));
      }
    } else {
      const reasoning = block.reasoningContent.reasoningText;
      frames.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { text: reasoning.text } } }));
      frames.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { reasoningContent: { signature: reasoning.signature } } }));
    }
    frames.push(event('contentBlockStop', { contentBlockIndex: index }));
  });
  frames.push(event('messageStop', { stopReason: reply.stopReason }));
  frames.push(event('metadata', { usage: totalUsage(reply), metrics: { latencyMs: 12 }, ...(reply.serviceTier === undefined ? {} : { serviceTier: { type: reply.serviceTier } }) }));
  return frames.map(encodeFrame);
}

function anthropicBlocks(reply: MockReply): Json[] {
  return reply.content.map((block) => {
    if ('text' in block) return { type: 'text', text: block.text };
    if ('toolUse' in block) return { type: 'tool_use', id: block.toolUse.toolUseId, name: block.toolUse.name, input: block.toolUse.input };
    return { type: 'thinking', thinking: block.reasoningContent.reasoningText.text, signature: block.reasoningContent.reasoningText.signature };
  });
}

export function invokeClaudeJson(reply: MockReply, modelId: string): Json {
  const usage = reply.usage ?? { inputTokens: 0, outputTokens: 0 };
  return {
    id: 'msg_bdrk_mock',
    type: 'message',
    role: 'assistant',
    model: modelId,
    content: anthropicBlocks(reply),
    stop_reason: reply.stopReason,
    stop_sequence: null,
    usage: { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, cache_read_input_tokens: usage.cacheReadInputTokens ?? 0, cache_creation_input_tokens: usage.cacheWriteInputTokens ?? 0 },
  };
}

/** InvokeModelWithResponseStream: each Anthropic event base64-wrapped in a `chunk` frame. */
export function invokeClaudeStreamFrames(reply: MockReply, modelId: string): Uint8Array[] {
  const message = invokeClaudeJson(reply, modelId);
  const usage = message.usage as Json;
  const events: Json[] = [
    { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } },
  ];
  anthropicBlocks(reply).forEach((block, index) => {
    if (block.type === 'text') {
      events.push({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
      events.push({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
    } else if (block.type === 'tool_use') {
      events.push({ type: 'content_block_start', index, content_block: { ...block, input: {} } });
      events.push({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
    } else {
      events.push({ type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '' } });
      events.push({ type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: block.thinking } });
      events.push({ type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: block.signature } });
    }
    events.push({ type: 'content_block_stop', index });
  });
  events.push({ type: 'message_delta', delta: { stop_reason: reply.stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } });
  events.push({ type: 'message_stop' });
  return events.map((payload) => encodeFrame({
    headers: { ':event-type': 'chunk', ':message-type': 'event', ':content-type': 'application/json' },
    body: { bytes: Buffer.from(JSON.stringify(payload)).toString('base64') },
  }));
}

/** One ConverseStream event frame. */
export function eventFrame(type: string, body: Json): Uint8Array {
  return encodeFrame(event(type, body));
}

export function exceptionFrame(type: string, message: string): Uint8Array {
  return encodeFrame({ headers: { ':exception-type': type, ':message-type': 'exception', ':content-type': 'application/json' }, body: { message } });
}
