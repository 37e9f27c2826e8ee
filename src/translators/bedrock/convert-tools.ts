/**
 * OpenAI `tools` / `tool_choice` -> Converse `toolConfig`.
 *
 * - function tools become `{toolSpec:{name, description, inputSchema:{json}, strict}}`; the JSON schema is
 *   carried as the client sent it (same object, key order kept). Other tool types are a 422.
 * - a `cache_control` on a tool adds a separate `{cachePoint}` element after it (one element never carries
 *   both a toolSpec and a cachePoint: Bedrock rejects that).
 * - `tool_choice`: "auto" -> `{auto:{}}`, "required" -> `{any:{}}`, a named function -> `{tool:{name}}`.
 * - "none" has no Converse equivalent. Our choice: drop the tools (and the choice), so the model cannot call
 *   one. Converse, however, rejects toolUse/toolResult blocks without a toolConfig, so when the history holds
 *   tool calls the tools stay declared, no toolChoice is sent, and a `tool_choice_none_unenforced` warning says so.
 * - history tool calls with no declared tools: their names are declared with an open object schema
 *   (`synthesized_tool` warning), since Converse needs a toolConfig for them.
 * - `parallel_tool_calls` is not forwarded: Converse has no such field and rejects Anthropic's
 *   `disable_parallel_tool_use`; `false` yields an `unsupported_parameter` warning.
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolConfiguration.html
 * @see https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolChoice.html
 */
import { asString, isRecord } from '../../core/json.js';
import type { Warning } from '../types.js';
import { hasCacheControl } from './convert-content.js';
import { CACHE_POINT, invalidRequest, type ConverseTool, type ConverseToolChoice } from './converse-types.js';

export interface ConverseToolConfig {
  tools: ConverseTool[];
  toolChoice?: ConverseToolChoice;
}

const OPEN_SCHEMA = { type: 'object' } as const;

function convertTools(tools: unknown): { tools: ConverseTool[]; names: string[] } {
  if (tools === undefined || tools === null) return { tools: [], names: [] };
  if (!Array.isArray(tools)) throw invalidRequest('tools must be an array', 'tools');
  const out: ConverseTool[] = [];
  const names: string[] = [];
  tools.forEach((tool, index) => {
    const param = `tools[${index}]`;
    if (!isRecord(tool)) throw invalidRequest(`${param} must be an object`, param);
    if (tool.type !== 'function') throw invalidRequest(`${param}.type "${String(tool.type)}" is not supported by Bedrock (function tools only)`, param);
    const fn = isRecord(tool.function) ? tool.function : undefined;
    const name = fn ? asString(fn.name) : undefined;
    if (!fn || !name) throw invalidRequest(`${param}.function.name is required`, `${param}.function.name`);
    const description = asString(fn.description);
    const parameters = fn.parameters ?? { type: 'object', properties: {} };
    if (!isRecord(parameters)) throw invalidRequest(`${param}.function.parameters must be a JSON schema object`, `${param}.function.parameters`);
    const spec: Extract<ConverseTool, { toolSpec: unknown }>['toolSpec'] = description
      ? { name, description, inputSchema: { json: parameters } }
      : { name, inputSchema: { json: parameters } };
    if (typeof fn.strict === 'boolean') spec.strict = fn.strict;
    out.push({ toolSpec: spec });
    names.push(name);
    if (hasCacheControl(tool.cache_control, `${param}.cache_control`)) out.push(CACHE_POINT);
  });
  return { tools: out, names };
}

function convertToolChoice(choice: unknown, names: string[]): ConverseToolChoice | 'none' | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'none') return 'none';
  if (names.length === 0) throw invalidRequest('tool_choice requires tools', 'tool_choice');
  if (choice === 'auto') return { auto: {} };
  if (choice === 'required') return { any: {} };
  if (isRecord(choice) && choice.type === 'function') {
    const name = isRecord(choice.function) ? asString(choice.function.name) : undefined;
    if (!name) throw invalidRequest('tool_choice.function.name is required', 'tool_choice');
    if (!names.includes(name)) throw invalidRequest(`tool_choice names "${name}", which is not in tools`, 'tool_choice');
    return { tool: { name } };
  }
  throw invalidRequest('tool_choice must be "none", "auto", "required" or {"type":"function","function":{"name":...}}', 'tool_choice');
}

export function convertToolConfig(
  body: Readonly<Record<string, unknown>>,
  historyToolNames: readonly string[],
  warnings: Warning[],
): ConverseToolConfig | undefined {
  const { tools, names } = convertTools(body.tools);
  const choice = convertToolChoice(body.tool_choice, names);
  if (body.parallel_tool_calls === false) {
    warnings.push({ kind: 'unsupported_parameter', detail: 'parallel_tool_calls=false is not supported by Bedrock Converse and was ignored' });
  }
  const inHistory = historyToolNames.length > 0;
  if (choice === 'none') {
    if (!inHistory) return undefined;
    warnings.push({
      kind: 'tool_choice_none_unenforced',
      detail: 'tool_choice "none": Bedrock needs the tools declared because the history holds tool calls; no toolChoice was sent',
    });
  }
  if (tools.length === 0) {
    if (!inHistory) return undefined;
    const unique = [...new Set(historyToolNames)];
    warnings.push({ kind: 'synthesized_tool', detail: `declared ${unique.join(', ')} (called earlier, not in tools) because Bedrock requires it` });
    return {
      tools: unique.map((name) => ({ toolSpec: { name, description: 'A tool called earlier in this conversation.', inputSchema: { json: OPEN_SCHEMA } } })),
    };
  }
  return choice === undefined || choice === 'none' ? { tools } : { tools, toolChoice: choice };
}
