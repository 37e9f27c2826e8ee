/**
 * OpenAI `tools` / `tool_choice` / `parallel_tool_calls` -> Anthropic `tools` / `tool_choice`.
 *
 * Function schemas are carried as given (same object: `$defs`, `anyOf`, key order intact; Claude accepts
 * them), with `strict` kept. Only a schema without a top-level `type` gets `"type":"object"` in front, because
 * Anthropic requires an object schema. Non-function tools are a 422 rather than being dropped.
 * tool_choice: auto -> auto, none -> none, required -> any, {function:{name}} -> {type:tool,name};
 * `parallel_tool_calls: false` -> `disable_parallel_tool_use: true` (on auto when no choice is given; never on none).
 * @see https://platform.claude.com/docs/en/agents-and-tools/tool-use/implement-tool-use
 */
import { asString, isRecord } from '../../core/json.js';
import { invalidRequest, readCacheControl, withCacheControl, type AnthropicBlock } from './convert-content.js';

function inputSchema(parameters: unknown, param: string): Record<string, unknown> {
  if (parameters === undefined || parameters === null) return { type: 'object', properties: {} };
  if (!isRecord(parameters)) throw invalidRequest(`${param} must be a JSON schema object`, param);
  return 'type' in parameters ? parameters : { type: 'object', ...parameters };
}

export function convertTools(tools: unknown, schema: string): AnthropicBlock[] | undefined {
  if (tools === undefined || tools === null) return undefined;
  if (!Array.isArray(tools)) throw invalidRequest('tools must be an array', 'tools');
  if (tools.length === 0) return undefined;
  return tools.map((tool, index) => {
    const param = `tools[${index}]`;
    if (!isRecord(tool)) throw invalidRequest(`${param} must be an object`, param);
    if (tool.type !== 'function') {
      throw invalidRequest(`${param}.type "${String(tool.type)}" is not supported by ${schema} backends (only "function")`, param);
    }
    const fn = isRecord(tool.function) ? tool.function : undefined;
    const name = fn ? asString(fn.name) : undefined;
    if (!fn || !name) throw invalidRequest(`${param}.function.name is required`, param);
    const converted: AnthropicBlock = { name };
    const description = asString(fn.description);
    if (description !== undefined) converted.description = description;
    converted.input_schema = inputSchema(fn.parameters, `${param}.function.parameters`);
    if (typeof fn.strict === 'boolean') converted.strict = fn.strict;
    const cacheControl =
      readCacheControl(tool.cache_control, `${param}.cache_control`) ?? readCacheControl(fn.cache_control, `${param}.function.cache_control`);
    return withCacheControl(converted, cacheControl);
  });
}

export function convertToolChoice(toolChoice: unknown, parallelToolCalls: unknown, hasTools: boolean): Record<string, unknown> | undefined {
  let choice: Record<string, unknown> | undefined;
  if (toolChoice === undefined || toolChoice === null) choice = undefined;
  else if (toolChoice === 'auto') choice = { type: 'auto' };
  else if (toolChoice === 'none') choice = { type: 'none' };
  else if (toolChoice === 'required') choice = { type: 'any' };
  else if (isRecord(toolChoice) && toolChoice.type === 'function') {
    const name = isRecord(toolChoice.function) ? asString(toolChoice.function.name) : undefined;
    if (!name) throw invalidRequest('tool_choice.function.name is required', 'tool_choice');
    choice = { type: 'tool', name };
  } else {
    throw invalidRequest('tool_choice must be "auto", "none", "required" or {"type":"function","function":{"name":...}}', 'tool_choice');
  }
  if (!hasTools) {
    if (choice && (choice.type === 'any' || choice.type === 'tool')) throw invalidRequest('tool_choice requires tools', 'tool_choice');
    return undefined;
  }
  if (parallelToolCalls === false && choice?.type !== 'none') return { ...(choice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  return choice;
}
