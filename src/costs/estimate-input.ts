/**
 * Counts the input tokens of a client request body locally: OpenAI chat/completions/embeddings/Responses-style
 * bodies and Anthropic Messages bodies. Everything the model reads is counted: system prompt, every message's
 * text parts, names, tool definitions, tool calls and tool results, plus per-message framing.
 *
 * OpenAI families follow OpenAI's published recipe (3 tokens per message plus the role, 1 per name, 3 to prime
 * the reply; tool definitions with the cookbook's per-function and per-property constants), which reproduces the
 * API's prompt_tokens exactly for the cookbook's examples. Other families use cl100k_base x factor plus their
 * own framing (see tokenizer.ts). Images and other media parts count a documented flat estimate.
 *
 * @see https://github.com/openai/openai-cookbook/blob/main/examples/How_to_count_tokens_with_tiktoken.ipynb
 */
import { asArray, asString, isRecord } from '../core/json.js';
import { profileFor, TextTokenTally, type FamilyProfile } from './tokenizer.js';

type Body = Readonly<Record<string, unknown>>;

/** Accumulates text (scaled by the family factor) and structural tokens (not scaled) separately. */
class InputTally {
  readonly text: TextTokenTally;
  structural = 0;
  readonly isOpenAI: boolean;

  constructor(readonly profile: FamilyProfile, budget?: number) {
    this.text = new TextTokenTally(profile.encoding, budget);
    this.isOpenAI = profile.family.startsWith('openai');
  }

  total(): number {
    return Math.max(0, Math.round(this.text.raw * this.profile.factor + this.structural));
  }
}

/**
 * Input tokens of a request body for `model` (the client's or the upstream model name). `exactChars` bounds the
 * text counted exactly (EXACT_CHAR_BUDGET by default); the rest is extrapolated from the ratio counted so far.
 */
export function estimateInputTokens(model: string, body: Body, exactChars?: number): number {
  const tally = new InputTally(profileFor(model), exactChars);
  const messages = asArray(body.messages);
  const input = asArray(body.input);
  const responsesInput = input && input.length > 0 && input.every(isRecord) ? input : undefined;
  if (messages || responsesInput) {
    countSystem(tally, body.system);
    countSystem(tally, body.instructions);
    countMessages(tally, messages ?? responsesInput ?? []);
    countTools(tally, body.tools);
    countTools(tally, body.functions);
    countResponseFormat(tally, body.response_format);
    tally.structural += tally.profile.replyPriming;
  } else {
    // Responses `instructions` with a string `input`
    countSystem(tally, body.instructions);
    countPrompt(tally, body.prompt);
    countPrompt(tally, body.input);
  }
  return tally.total();
}

/** A prompt/input of completions or embeddings: string, string[], token array, or token arrays (counted exactly). */
function countPrompt(tally: InputTally, value: unknown): void {
  if (typeof value === 'string') return tally.text.add(value);
  const items = asArray(value);
  if (!items) return;
  if (items.every((item) => typeof item === 'number')) {
    tally.structural += items.length;
    return;
  }
  for (const item of items) countPrompt(tally, item);
}

/** Anthropic `system` (string or text blocks) or Responses `instructions`. */
function countSystem(tally: InputTally, value: unknown): void {
  if (value === undefined || value === null) return;
  countContent(tally, value, true);
}

function countMessages(tally: InputTally, messages: readonly unknown[]): void {
  const lastIndex = messages.length - 1;
  for (const [index, message] of messages.entries()) {
    if (!isRecord(message)) continue;
    tally.structural += tally.profile.perMessage;
    const role = asString(message.role);
    if (role && tally.isOpenAI) tally.text.add(role);
    const name = asString(message.name);
    if (name) {
      tally.text.add(name);
      tally.structural += tally.profile.perName;
    }
    // Anthropic ignores thinking blocks of earlier assistant turns; only the current turn's thinking counts.
    countContent(tally, message.content, index === lastIndex);
    countContent(tally, message.refusal, true);
    countToolCalls(tally, message.tool_calls);
    if (isRecord(message.function_call)) countFunctionCall(tally, message.function_call);
    // Responses API items that are not messages (function_call, function_call_output).
    countFunctionCall(tally, message);
    if (message.type === 'function_call_output') countContent(tally, message.output, true);
  }
}

/** Message content: a string, or parts of any supported kind. */
function countContent(tally: InputTally, content: unknown, countThinking: boolean): void {
  if (typeof content === 'string') return tally.text.add(content);
  const parts = asArray(content);
  if (!parts) return;
  for (const part of parts) {
    if (typeof part === 'string') tally.text.add(part);
    else if (isRecord(part)) countPart(tally, part, countThinking);
  }
}

function countPart(tally: InputTally, part: Readonly<Record<string, unknown>>, countThinking: boolean): void {
  const type = asString(part.type) ?? '';
  switch (type) {
    case 'text':
    case 'input_text':
    case 'output_text':
      tally.text.add(asString(part.text) ?? '');
      return;
    case 'refusal':
      tally.text.add(asString(part.refusal) ?? '');
      return;
    case 'thinking':
      if (countThinking) tally.text.add(asString(part.thinking) ?? '');
      return;
    case 'redacted_thinking':
      return;
    case 'tool_use':
    case 'server_tool_use':
      tally.text.add(asString(part.name) ?? '');
      tally.text.add(JSON.stringify(part.input ?? {}));
      tally.structural += tally.profile.perMessage;
      return;
    case 'tool_result':
    case 'web_search_tool_result':
      countContent(tally, part.content, true);
      tally.structural += tally.profile.perMessage;
      return;
    case 'image_url':
    case 'input_image':
      tally.structural += imageDetail(part) === 'low' ? tally.profile.imageTokensLow : tally.profile.imageTokens;
      return;
    default:
      // image, document, input_audio, file, input_file: a flat media estimate.
      if (type !== '') tally.structural += tally.profile.imageTokens;
  }
}

function imageDetail(part: Readonly<Record<string, unknown>>): string | undefined {
  const image = part.image_url;
  return asString(part.detail) ?? (isRecord(image) ? asString(image.detail) : undefined);
}

function countToolCalls(tally: InputTally, value: unknown): void {
  for (const call of asArray(value) ?? []) {
    if (!isRecord(call)) continue;
    tally.structural += tally.profile.perMessage;
    if (isRecord(call.function)) countFunctionCall(tally, call.function);
  }
}

/** `{name, arguments}` of a chat tool call, a legacy function_call, or a Responses function_call item. */
function countFunctionCall(tally: InputTally, call: Readonly<Record<string, unknown>>): void {
  const args = asString(call.arguments);
  if (args === undefined) return;
  tally.text.add(asString(call.name) ?? '');
  tally.text.add(args);
}

function countResponseFormat(tally: InputTally, value: unknown): void {
  if (!isRecord(value) || !isRecord(value.json_schema)) return;
  tally.text.add(JSON.stringify(value.json_schema.schema ?? value.json_schema));
}

/** A tool definition reduced to name, description and parameter schema, whatever the API's shape. */
interface ToolShape {
  readonly name: string;
  readonly description: string;
  readonly parameters: unknown;
}

function toolShape(tool: unknown): ToolShape | undefined {
  if (!isRecord(tool)) return undefined;
  const inner = isRecord(tool.function) ? tool.function : tool;
  const name = asString(inner.name) ?? asString(tool.type) ?? '';
  return {
    name,
    description: asString(inner.description) ?? '',
    parameters: inner.parameters ?? inner.input_schema,
  };
}

function countTools(tally: InputTally, value: unknown): void {
  const tools = (asArray(value) ?? []).map(toolShape).filter((tool): tool is ToolShape => tool !== undefined);
  if (tools.length === 0) return;
  tally.structural += tally.profile.toolsBase;
  if (tally.isOpenAI) return countOpenAITools(tally, tools);
  for (const tool of tools) {
    tally.text.add(tool.name);
    tally.text.add(tool.description);
    if (tool.parameters !== undefined) tally.text.add(JSON.stringify(tool.parameters));
    tally.structural += tally.profile.perTool;
  }
}

/**
 * OpenAI's published constants for function definitions: 7 per function on o200k models (10 on cl100k),
 * 3 to open the properties, 3 per property, enum -3 then 3 per item, 12 to close the tool list.
 */
function countOpenAITools(tally: InputTally, tools: readonly ToolShape[]): void {
  const functionStart = tally.profile.encoding === 'o200k_base' ? 7 : 10;
  for (const tool of tools) {
    tally.structural += functionStart;
    tally.text.add(`${tool.name}:${trimPeriod(tool.description)}`);
    const properties = isRecord(tool.parameters) && isRecord(tool.parameters.properties) ? tool.parameters.properties : {};
    const keys = Object.keys(properties);
    if (keys.length > 0) tally.structural += 3;
    for (const key of keys) {
      tally.structural += 3;
      const property = properties[key];
      const spec = isRecord(property) ? property : {};
      const enumValues = asArray(spec.enum);
      if (enumValues) {
        tally.structural -= 3;
        for (const item of enumValues) {
          tally.structural += 3;
          tally.text.add(String(item));
        }
      }
      const type = asString(spec.type) ?? (spec.type === undefined ? '' : JSON.stringify(spec.type));
      tally.text.add(`${key}:${type}:${trimPeriod(asString(spec.description) ?? '')}`);
      // Nested schemas (objects, arrays of objects) are not in OpenAI's recipe: count their JSON as text.
      if (isRecord(spec.properties) || isRecord(spec.items)) tally.text.add(JSON.stringify(spec.properties ?? spec.items));
    }
  }
  tally.structural += 12;
}

function trimPeriod(text: string): string {
  return text.endsWith('.') ? text.slice(0, -1) : text;
}
