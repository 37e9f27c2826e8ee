/**
 * What the mock Anthropic API rejects, modelled on the real Messages API's 400s: a missing or invalid
 * max_tokens, unknown top-level fields, a first message that is not from the user, two turns of the same role
 * in a row, empty content or empty text blocks, temperature outside 0..1 or together with top_p, tool results
 * that answer no tool_use, thinking budgets below 1024 or not below max_tokens, URL image sources on Vertex.
 * Returns the first problem as a message, or undefined.
 */
type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const FIELDS = new Set([
  'model',
  'messages',
  'max_tokens',
  'system',
  'metadata',
  'stop_sequences',
  'stream',
  'temperature',
  'top_p',
  'top_k',
  'tools',
  'tool_choice',
  'thinking',
  'output_config',
  'service_tier',
]);
const MEDIA_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export interface ValidationTarget {
  readonly vertex: boolean;
  /** The model the request is for (body `model`, or the Vertex path); decides the temperature/top_p rule. */
  readonly model?: string;
}

/** Claude 4.5 and later answer 400 to temperature together with top_p (Anthropic's migration guides); earlier ones accept it. */
const REFUSES_SAMPLING_PAIR = /claude-(opus|sonnet|haiku)-(4-[5-9]|[5-9])(?!\d)/;

function validateBlock(block: unknown, where: string, role: string, target: ValidationTarget, toolUseIds: Set<string>): string | undefined {
  if (!isObject(block)) return `${where}: Input should be an object`;
  switch (block.type) {
    case 'text':
      if (typeof block.text !== 'string' || block.text === '') return `${where}: text content blocks must be non-empty`;
      return undefined;
    case 'image': {
      const source = isObject(block.source) ? block.source : undefined;
      if (role !== 'user') return `${where}: image blocks are only allowed in user messages`;
      if (source?.type === 'url') return target.vertex ? `${where}.source.base64.data: URL sources are not supported` : undefined;
      if (source?.type !== 'base64' || typeof source.data !== 'string' || source.data === '') return `${where}.source: invalid image source`;
      if (typeof source.media_type !== 'string' || !MEDIA_TYPES.has(source.media_type)) return `${where}.source.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`;
      return undefined;
    }
    case 'document':
      return role === 'user' ? undefined : `${where}: document blocks are only allowed in user messages`;
    case 'tool_use':
      if (role !== 'assistant') return `${where}: tool_use blocks are only allowed in assistant messages`;
      if (typeof block.id !== 'string' || typeof block.name !== 'string' || !isObject(block.input)) return `${where}: tool_use needs id, name and an object input`;
      return undefined;
    case 'tool_result':
      if (role !== 'user') return `${where}: tool_result blocks are only allowed in user messages`;
      if (typeof block.tool_use_id !== 'string' || !toolUseIds.has(block.tool_use_id)) {
        return `${where}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`;
      }
      if (Array.isArray(block.content)) {
        for (const [index, inner] of block.content.entries()) {
          const problem = validateBlock(inner, `${where}.content.${index}`, 'user', target, toolUseIds);
          if (problem) return problem;
        }
      }
      return undefined;
    case 'thinking':
      if (role !== 'assistant' || typeof block.signature !== 'string' || block.signature === '') return `${where}.signature: Field required`;
      return undefined;
    case 'redacted_thinking':
      return role === 'assistant' && typeof block.data === 'string' ? undefined : `${where}.data: Field required`;
    default:
      return `${where}: unknown content block type ${JSON.stringify(block.type)}`;
  }
}

function validateMessages(messages: unknown, target: ValidationTarget): string | undefined {
  if (!Array.isArray(messages)) return 'messages: Field required';
  if (messages.length === 0) return 'messages: at least one message is required';
  let previousRole: string | undefined;
  let previousToolUses = new Set<string>();
  for (const [index, message] of messages.entries()) {
    const where = `messages.${index}`;
    if (!isObject(message)) return `${where}: Input should be an object`;
    const role = message.role;
    if (role !== 'user' && role !== 'assistant') return `${where}.role: Input should be 'user' or 'assistant'`;
    if (index === 0 && role !== 'user') return 'messages: first message must use the "user" role';
    if (role === previousRole) return `messages: roles must alternate between "user" and "assistant", but found multiple "${role}" roles in a row`;
    const content = message.content;
    const toolUses = new Set<string>();
    if (typeof content === 'string') {
      if (content === '') return `${where}: all messages must have non-empty content except for the optional final assistant message`;
    } else if (Array.isArray(content)) {
      if (content.length === 0) return `${where}: all messages must have non-empty content except for the optional final assistant message`;
      for (const [blockIndex, block] of content.entries()) {
        const problem = validateBlock(block, `${where}.content.${blockIndex}`, role, target, previousToolUses);
        if (problem) return problem;
        if (isObject(block) && block.type === 'tool_use' && typeof block.id === 'string') toolUses.add(block.id);
      }
    } else {
      return `${where}.content: Input should be a valid string or list`;
    }
    previousRole = role;
    previousToolUses = toolUses;
  }
  return undefined;
}

function validateTools(body: Json): string | undefined {
  const names = new Set<string>();
  if (body.tools !== undefined) {
    if (!Array.isArray(body.tools)) return 'tools: Input should be a valid list';
    for (const [index, tool] of body.tools.entries()) {
      if (!isObject(tool) || typeof tool.name !== 'string' || !/^[a-zA-Z0-9_-]{1,128}$/.test(tool.name)) return `tools.${index}.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'`;
      if (!isObject(tool.input_schema) || tool.input_schema.type !== 'object') return `tools.${index}.input_schema.type: Input should be 'object'`;
      names.add(tool.name);
    }
  }
  if (body.tool_choice !== undefined) {
    const choice = body.tool_choice;
    if (!isObject(choice) || !['auto', 'any', 'tool', 'none'].includes(String(choice.type))) return 'tool_choice: invalid tool_choice';
    if (choice.type === 'tool' && (typeof choice.name !== 'string' || !names.has(choice.name))) return `tool_choice.name: tool ${String(choice.name)} not found in tools`;
    if (choice.type === 'none' && 'disable_parallel_tool_use' in choice) return 'tool_choice.none.disable_parallel_tool_use: Extra inputs are not permitted';
  }
  return undefined;
}

function validateSampling(body: Json, model: string): string | undefined {
  const maxTokens = body.max_tokens;
  if (maxTokens === undefined) return 'max_tokens: Field required';
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) return 'max_tokens: Input should be a valid positive integer';
  if (body.temperature !== undefined && (typeof body.temperature !== 'number' || body.temperature < 0 || body.temperature > 1)) {
    return 'temperature: Input should be less than or equal to 1';
  }
  if (body.temperature !== undefined && body.top_p !== undefined && REFUSES_SAMPLING_PAIR.test(model)) {
    return '`temperature` and `top_p` cannot both be specified for this model. Please use only one.';
  }
  const thinking = body.thinking;
  if (isObject(thinking) && thinking.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || budget < 1024) return 'thinking.enabled.budget_tokens: Input should be greater than or equal to 1024';
    if (budget >= maxTokens) return '`max_tokens` must be greater than `thinking.budget_tokens`';
    if (body.temperature !== undefined && body.temperature !== 1) return '`temperature` may only be set to 1 when thinking is enabled';
    if (body.top_k !== undefined) return '`top_k` must be unset when thinking is enabled';
  }
  if (body.stop_sequences !== undefined && (!Array.isArray(body.stop_sequences) || body.stop_sequences.some((item) => typeof item !== 'string'))) {
    return 'stop_sequences: Input should be a valid list of strings';
  }
  const format = isObject(body.output_config) ? body.output_config.format : undefined;
  if (format !== undefined && (!isObject(format) || format.type !== 'json_schema' || !isObject(format.schema))) return 'output_config.format: invalid format';
  return undefined;
}

function validateSystem(system: unknown): string | undefined {
  if (system === undefined || typeof system === 'string') return undefined;
  if (!Array.isArray(system)) return 'system: Input should be a valid string or list';
  for (const [index, block] of system.entries()) {
    if (!isObject(block) || block.type !== 'text' || typeof block.text !== 'string' || block.text === '') return `system.${index}: text content blocks must be non-empty`;
  }
  return undefined;
}

export function validateMessagesBody(body: unknown, target: ValidationTarget): string | undefined {
  if (!isObject(body)) return 'request body must be a JSON object';
  for (const key of Object.keys(body)) {
    if (FIELDS.has(key)) continue;
    if (key === 'anthropic_version' && target.vertex) continue;
    return `${key}: Extra inputs are not permitted`;
  }
  if (target.vertex) {
    if ('model' in body) return 'model: Extra inputs are not permitted';
    if (body.anthropic_version !== 'vertex-2023-10-16') return 'anthropic_version: must be "vertex-2023-10-16"';
  } else if (typeof body.model !== 'string' || body.model === '') {
    return 'model: Field required';
  }
  const model = target.model ?? (typeof body.model === 'string' ? body.model : '');
  return validateSampling(body, model) ?? validateSystem(body.system) ?? validateMessages(body.messages, target) ?? validateTools(body);
}
