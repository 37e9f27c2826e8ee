/**
 * OpenAI `tools` / `tool_choice` -> Gemini `tools[{functionDeclarations}]` / `toolConfig.functionCallingConfig`.
 *
 * Parameters go to `parametersJsonSchema` (full JSON Schema, key order kept) after local `$ref`s are inlined; see
 * convert-schema.ts. Models that predate that field (schema-dialect.ts) get `parameters` in the OpenAPI subset. tool_choice: auto -> AUTO, none -> NONE, required -> ANY, a named function -> ANY with
 * allowedFunctionNames, allowed_tools -> the listed declarations only (AUTO, or ANY when required).
 * `parallel_tool_calls` has no Gemini switch: false gives an `unsupported_parameter` warning.
 * Non-function tools are a 422.
 *
 * @see https://ai.google.dev/api/caching#Tool
 * @see https://ai.google.dev/api/caching#FunctionCallingConfig
 */
import { asArray, asString, isRecord } from '../../core/json.js';
import { GatewayError } from '../../core/errors.js';
import type { Warning } from '../types.js';
import { convertOpenApiSchema, convertSchema } from './convert-schema.js';
import type { GeminiSchemaDialect } from './schema-dialect.js';
import type { JsonObject } from './gemini-types.js';

export interface ConvertedTools {
  readonly tools: JsonObject[] | undefined;
  readonly toolConfig: JsonObject | undefined;
  readonly warnings: Warning[];
}

function invalid(message: string, param: string): never {
  throw new GatewayError('ERR_INVALID_REQUEST', message, { param });
}

function declaration(tool: unknown, index: number, warnings: Warning[], dialect: GeminiSchemaDialect): JsonObject {
  const param = `tools[${index}]`;
  if (!isRecord(tool) || tool.type !== 'function' || !isRecord(tool.function)) {
    invalid(`only function tools are supported for Gemini (got type "${isRecord(tool) ? String(tool.type) : typeof tool}")`, param);
  }
  const fn = tool.function;
  const name = asString(fn.name);
  if (!name) invalid('function tools need function.name', `${param}.function.name`);
  const out: JsonObject = { name };
  const description = asString(fn.description);
  if (description) out.description = description;
  if (fn.parameters !== undefined && fn.parameters !== null) {
    const where = `${param}.function.parameters`;
    const converted = dialect === 'openapi' ? convertOpenApiSchema(fn.parameters, where, false) : convertSchema(fn.parameters, where);
    warnings.push(...converted.warnings);
    if (dialect === 'openapi') out.parameters = converted.schema;
    else out.parametersJsonSchema = converted.schema;
  }
  return out;
}

/** The function names listed in an allowed_tools choice. */
function allowedNames(choice: JsonObject, known: ReadonlySet<string>): { names: string[]; required: boolean } {
  const allowed = isRecord(choice.allowed_tools) ? choice.allowed_tools : undefined;
  const mode = asString(allowed?.mode);
  if (!allowed || (mode !== 'auto' && mode !== 'required')) invalid('allowed_tools needs mode auto or required', 'tool_choice');
  const names: string[] = [];
  for (const entry of asArray(allowed.tools) ?? []) {
    const name = isRecord(entry) && isRecord(entry.function) ? asString(entry.function.name) : undefined;
    if (!name || !known.has(name)) invalid(`allowed_tools lists an unknown function "${name ?? ''}"`, 'tool_choice');
    names.push(name);
  }
  if (names.length === 0) invalid('allowed_tools needs at least one function', 'tool_choice');
  return { names, required: mode === 'required' };
}

function functionCallingConfig(choice: unknown, known: ReadonlySet<string>): JsonObject | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  if (isRecord(choice) && choice.type === 'function') {
    const name = isRecord(choice.function) ? asString(choice.function.name) : undefined;
    if (!name) invalid('tool_choice.function.name is required', 'tool_choice');
    if (!known.has(name)) invalid(`tool_choice names "${name}", which is not in tools`, 'tool_choice');
    return { mode: 'ANY', allowedFunctionNames: [name] };
  }
  return invalid('tool_choice must be "auto", "none", "required", a function or allowed_tools', 'tool_choice');
}

export function convertTools(body: Readonly<JsonObject>, dialect: GeminiSchemaDialect = 'json-schema'): ConvertedTools {
  const warnings: Warning[] = [];
  if (body.parallel_tool_calls === false) {
    warnings.push({ kind: 'unsupported_parameter', detail: 'parallel_tool_calls=false has no Gemini equivalent' });
  }
  const list = body.tools === undefined || body.tools === null ? [] : asArray(body.tools);
  if (!list) invalid('"tools" must be an array', 'tools');
  let declarations = list.map((tool, index) => declaration(tool, index, warnings, dialect));
  if (declarations.length === 0) return { tools: undefined, toolConfig: undefined, warnings };
  const known = new Set(declarations.map((entry) => entry.name as string));
  const choice = body.tool_choice;
  let config: JsonObject | undefined;
  if (isRecord(choice) && choice.type === 'allowed_tools') {
    const allowed = allowedNames(choice, known);
    const keep = new Set(allowed.names);
    declarations = declarations.filter((entry) => keep.has(entry.name as string));
    config = { mode: allowed.required ? 'ANY' : 'AUTO' };
  } else {
    config = functionCallingConfig(choice, known);
  }
  return {
    tools: declarations.length > 0 ? [{ functionDeclarations: declarations }] : undefined,
    toolConfig: config ? { functionCallingConfig: config } : undefined,
    warnings,
  };
}
