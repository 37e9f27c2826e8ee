/**
 * What Bedrock rejects, as the mock enforces it: a Converse body (and a Claude InvokeModel body) is checked
 * the way the real service answers ValidationException. Returns the error message, or undefined when valid.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
 */
type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const IMAGE_FORMATS = ['png', 'jpeg', 'gif', 'webp'];
const TOP_LEVEL = [
  'messages',
  'system',
  'inferenceConfig',
  'toolConfig',
  'guardrailConfig',
  'additionalModelRequestFields',
  'additionalModelResponseFieldPaths',
  'promptVariables',
  'requestMetadata',
  'performanceConfig',
  'outputConfig',
  'serviceTier',
];
const BLOCK_KINDS = ['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'reasoningContent', 'cachePoint', 'guardContent', 'citationsContent'];

function blank(value: unknown): boolean {
  return typeof value !== 'string' || value.trim() === '';
}

function checkImage(image: unknown, at: string): string | undefined {
  if (!isObject(image) || typeof image.format !== 'string' || !IMAGE_FORMATS.includes(image.format)) {
    return `${at}.image.format: Member must satisfy enum value set: [png, jpeg, gif, webp]`;
  }
  const source = isObject(image.source) ? image.source : {};
  if (isObject(source.s3Location)) return undefined;
  if (typeof source.bytes !== 'string' || !BASE64.test(source.bytes)) return `${at}.image.source.bytes: invalid or empty image bytes`;
  return undefined;
}

function checkBlock(block: unknown, at: string, role: string, previousToolUseIds: Set<string>): string | undefined {
  if (!isObject(block)) return `${at}: content block must be an object`;
  const keys = Object.keys(block);
  if (keys.length !== 1 || !BLOCK_KINDS.includes(keys[0] as string)) return `${at}: a content block must set exactly one member (got ${keys.join(', ') || 'none'})`;
  if ('text' in block && blank(block.text)) return `The text field in the ContentBlock object at ${at} is blank. Add text to the text field, and try again.`;
  if ('image' in block) return checkImage(block.image, at);
  if ('cachePoint' in block && (!isObject(block.cachePoint) || block.cachePoint.type !== 'default')) return `${at}.cachePoint.type must be "default"`;
  if ('reasoningContent' in block && role !== 'assistant') return `${at}: reasoningContent is only allowed in assistant messages`;
  if ('toolUse' in block) {
    const toolUse = block.toolUse;
    if (role !== 'assistant') return `${at}: toolUse is only allowed in assistant messages`;
    if (!isObject(toolUse) || blank(toolUse.toolUseId) || blank(toolUse.name) || !isObject(toolUse.input)) return `${at}.toolUse: toolUseId, name and an object input are required`;
  }
  if ('toolResult' in block) {
    const result = block.toolResult;
    if (role !== 'user') return `${at}: toolResult is only allowed in user messages`;
    if (!isObject(result) || typeof result.toolUseId !== 'string') return `${at}.toolResult.toolUseId is required`;
    if (!previousToolUseIds.has(result.toolUseId)) {
      return `${at}: the toolResult blocks at ${at} contain a toolUseId ${result.toolUseId} that has no toolUse block in the previous turn`;
    }
    if (!Array.isArray(result.content) || result.content.length === 0) return `${at}.toolResult.content must not be empty`;
    for (const [index, item] of result.content.entries()) {
      if (!isObject(item)) return `${at}.toolResult.content.${index} must be an object`;
      if ('text' in item && blank(item.text)) return `The text field in ${at}.toolResult.content.${index} is blank`;
      if ('image' in item) {
        const problem = checkImage(item.image, `${at}.toolResult.content.${index}`);
        if (problem) return problem;
      }
    }
  }
  return undefined;
}

function checkMessages(messages: unknown): { error?: string; usesTools: boolean } {
  if (!Array.isArray(messages) || messages.length === 0) return { error: 'messages: Member must not be empty', usesTools: false };
  let usesTools = false;
  let previousToolUseIds = new Set<string>();
  for (const [index, message] of messages.entries()) {
    const at = `messages.${index}`;
    if (!isObject(message) || (message.role !== 'user' && message.role !== 'assistant')) return { error: `${at}.role must be user or assistant`, usesTools };
    if (index === 0 && message.role !== 'user') return { error: 'A conversation must start with a user message. Try again with a conversation that starts with a user message.', usesTools };
    const previous = messages[index - 1] as Json | undefined;
    if (previous && previous.role === message.role) return { error: 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.', usesTools };
    if (!Array.isArray(message.content) || message.content.length === 0) return { error: `${at}.content: Member must not be empty`, usesTools };
    if (message.content.every((block) => isObject(block) && 'cachePoint' in block)) return { error: `${at}.content: a message cannot hold only cache points`, usesTools };
    if (isObject(message.content[0]) && 'cachePoint' in message.content[0]) return { error: `${at}.content.0: a cache point cannot open a message`, usesTools };
    const toolUseIds = new Set<string>();
    for (const [blockIndex, block] of message.content.entries()) {
      const error = checkBlock(block, `${at}.content.${blockIndex}`, message.role, previousToolUseIds);
      if (error) return { error, usesTools };
      if (isObject(block) && ('toolUse' in block || 'toolResult' in block)) usesTools = true;
      if (isObject(block) && isObject(block.toolUse) && typeof block.toolUse.toolUseId === 'string') toolUseIds.add(block.toolUse.toolUseId);
    }
    previousToolUseIds = toolUseIds;
  }
  return { usesTools };
}

function checkToolConfig(toolConfig: unknown): string | undefined {
  if (!isObject(toolConfig) || !Array.isArray(toolConfig.tools) || toolConfig.tools.length === 0) return 'toolConfig.tools: Member must not be empty';
  const names = new Set<string>();
  for (const [index, tool] of toolConfig.tools.entries()) {
    if (!isObject(tool) || Object.keys(tool).length !== 1) return `toolConfig.tools.${index}: a tool must set exactly one of toolSpec, cachePoint`;
    if ('cachePoint' in tool) continue;
    const spec = tool.toolSpec;
    if (!isObject(spec) || typeof spec.name !== 'string' || !/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) return `toolConfig.tools.${index}.toolSpec.name is invalid`;
    if (!isObject(spec.inputSchema) || !isObject(spec.inputSchema.json)) return `toolConfig.tools.${index}.toolSpec.inputSchema.json must be a JSON schema object`;
    names.add(spec.name);
  }
  const choice = toolConfig.toolChoice;
  if (choice !== undefined) {
    if (!isObject(choice) || Object.keys(choice).length !== 1) return 'toolConfig.toolChoice must set exactly one of auto, any, tool';
    if ('tool' in choice && !(isObject(choice.tool) && typeof choice.tool.name === 'string' && names.has(choice.tool.name))) return 'toolConfig.toolChoice.tool.name is not a declared tool';
    if (!('tool' in choice) && !('auto' in choice) && !('any' in choice)) return 'toolConfig.toolChoice must set exactly one of auto, any, tool';
  }
  return undefined;
}

function checkInference(body: Json): string | undefined {
  const config = body.inferenceConfig;
  let maxTokens: number | undefined;
  if (config !== undefined) {
    if (!isObject(config)) return 'inferenceConfig must be an object';
    if (config.maxTokens !== undefined && (!Number.isInteger(config.maxTokens) || (config.maxTokens as number) < 1)) return 'inferenceConfig.maxTokens must be >= 1';
    maxTokens = config.maxTokens as number | undefined;
    for (const name of ['temperature', 'topP']) {
      const value = config[name];
      if (value !== undefined && (typeof value !== 'number' || value < 0 || value > 1)) return `inferenceConfig.${name} must be between 0 and 1`;
    }
    if (config.stopSequences !== undefined && (!Array.isArray(config.stopSequences) || config.stopSequences.some(blank))) return 'inferenceConfig.stopSequences must be non-empty strings';
  }
  const fields = body.additionalModelRequestFields;
  const thinking = isObject(fields) ? fields.thinking : undefined;
  if (isObject(thinking) && thinking.type === 'enabled') {
    const budget = thinking.budget_tokens;
    if (typeof budget !== 'number' || budget < 1024) return 'thinking.budget_tokens: Input should be greater than or equal to 1024';
    if (maxTokens !== undefined && maxTokens <= budget) return '`max_tokens` must be greater than `thinking.budget_tokens`';
  }
  return undefined;
}

export function validateConverseRequest(body: unknown): string | undefined {
  if (!isObject(body)) return 'Malformed input request, please reformat your input and try again.';
  for (const key of Object.keys(body)) if (!TOP_LEVEL.includes(key)) return `Malformed input request: extraneous key [${key}] is not permitted, please reformat your input and try again.`;
  const messages = checkMessages(body.messages);
  if (messages.error) return messages.error;
  if (body.serviceTier !== undefined && !(isObject(body.serviceTier) && ['priority', 'default', 'flex', 'reserved'].includes(String(body.serviceTier.type)))) {
    return "1 validation error detected: Value at 'serviceTier.type' failed to satisfy constraint: Member must satisfy enum value set: [priority, default, flex, reserved]";
  }
  if (body.system !== undefined) {
    if (!Array.isArray(body.system)) return 'system must be an array';
    for (const [index, block] of body.system.entries()) {
      if (!isObject(block) || Object.keys(block).length !== 1) return `system.${index}: a system block must set exactly one member`;
      if ('text' in block && blank(block.text)) return `The text field in the SystemContentBlock object at system.${index} is blank.`;
    }
  }
  if (body.toolConfig !== undefined) {
    const error = checkToolConfig(body.toolConfig);
    if (error) return error;
  } else if (messages.usesTools) {
    return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.';
  }
  const output = body.outputConfig;
  if (output !== undefined) {
    const format = isObject(output) && isObject(output.textFormat) ? output.textFormat : undefined;
    const structure = format && isObject(format.structure) && isObject(format.structure.jsonSchema) ? format.structure.jsonSchema : undefined;
    if (!format || format.type !== 'json_schema' || !structure || typeof structure.schema !== 'string') return 'outputConfig.textFormat: a json_schema with a string schema is required';
    try {
      if (!isObject(JSON.parse(structure.schema))) return 'outputConfig.textFormat.structure.jsonSchema.schema must encode an object';
    } catch {
      return 'outputConfig.textFormat.structure.jsonSchema.schema is not valid JSON';
    }
  }
  return checkInference(body);
}

/** A Claude Messages body for InvokeModel: anthropic_version required; model and stream are not accepted. */
export function validateInvokeClaudeRequest(body: unknown): string | undefined {
  if (!isObject(body)) return 'Malformed input request, please reformat your input and try again.';
  if (typeof body.anthropic_version !== 'string') return 'Malformed input request: #: required key [anthropic_version] not found';
  for (const key of ['model', 'stream']) if (key in body) return `Malformed input request: #: extraneous key [${key}] is not permitted`;
  if (!Number.isInteger(body.max_tokens)) return 'Malformed input request: #: required key [max_tokens] not found';
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return 'messages: at least one message is required';
  for (const [index, message] of messages.entries()) {
    if (!isObject(message) || (message.role !== 'user' && message.role !== 'assistant')) return `messages.${index}.role must be user or assistant`;
    if (index === 0 && message.role !== 'user') return 'messages: first message must use the "user" role';
    if (index > 0 && (messages[index - 1] as Json).role === message.role) return 'messages: roles must alternate between "user" and "assistant"';
    const content = message.content;
    if (typeof content === 'string' ? content.trim() === '' : !Array.isArray(content) || content.length === 0) return `messages.${index}: all messages must have non-empty content`;
    if (Array.isArray(content)) {
      for (const [blockIndex, block] of content.entries()) {
        if (isObject(block) && block.type === 'text' && blank(block.text)) return `messages.${index}.content.${blockIndex}.text: text content blocks must be non-empty`;
      }
    }
  }
  return undefined;
}
