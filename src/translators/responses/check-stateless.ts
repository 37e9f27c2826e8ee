/**
 * What a backend without server-side state cannot serve in a Responses request, refused before anything is
 * translated: a 400 in OpenAI's error JSON whose `param` names the field.
 *
 * - `previous_response_id`, `conversation`: the earlier turns live on OpenAI's servers; nothing here stores them.
 * - `background: true`: a response that runs detached and is polled later needs a store.
 * - `prompt`: a stored prompt template, referenced by id.
 * - input items of type `item_reference`, and input parts referring to uploaded files (`file_id`): stored objects.
 * - tools other than `function` (web_search, file_search, code_interpreter, computer_use, mcp, image_generation,
 *   custom, ...) and a `tool_choice` naming one: they run on OpenAI's side.
 * - `store: true` is NOT refused: most clients send it by default (it is the API's default), so it is served as not
 *   stored (the response says `store: false`) with an `unsupported_parameter` warning.
 * @see https://platform.openai.com/docs/api-reference/responses/create
 */
import { GatewayError } from '../../core/errors.js';
import { asArray, isRecord } from '../../core/json.js';

function refuse(param: string, why: string): GatewayError {
  return new GatewayError('ERR_UNSUPPORTED_PARAMETER', `${param} is not supported by this backend: ${why}`, { param });
}

const present = (value: unknown): boolean => value !== undefined && value !== null && value !== '';

/** Tool choices that are not about function tools (`{type: "web_search_preview"}`, `{type: "mcp", ...}`). */
const FUNCTION_TOOL_CHOICES = new Set(['function', 'allowed_tools']);

function checkContentParts(content: unknown, path: string): void {
  for (const [index, part] of (asArray(content) ?? []).entries()) {
    if (isRecord(part) && present(part.file_id)) {
      throw refuse(`${path}[${index}].file_id`, 'uploaded files are stored by OpenAI; send the file inline (file_data or image_url)');
    }
  }
}

/** Throws a 400 GatewayError for the first field that needs server-side state or a hosted tool. */
export function checkStateless(body: Readonly<Record<string, unknown>>): void {
  if (present(body.previous_response_id)) throw refuse('previous_response_id', 'responses are not stored; send the whole conversation in `input`');
  if (present(body.conversation)) throw refuse('conversation', 'conversations are not stored; send the whole conversation in `input`');
  if (body.background === true) throw refuse('background', 'background responses need a response store');
  if (present(body.prompt)) throw refuse('prompt', 'stored prompt templates are not available; send the prompt in `instructions` and `input`');
  for (const [index, tool] of (asArray(body.tools) ?? []).entries()) {
    if (isRecord(tool) && tool.type !== 'function') {
      throw refuse(`tools[${index}].type`, `${JSON.stringify(tool.type ?? null).slice(0, 60)} is a tool hosted by OpenAI; only function tools are supported`);
    }
  }
  const choice = body.tool_choice;
  if (isRecord(choice) && !FUNCTION_TOOL_CHOICES.has(String(choice.type))) {
    throw refuse('tool_choice', `${JSON.stringify(choice.type ?? null).slice(0, 60)} names a tool hosted by OpenAI; only function tools are supported`);
  }
  for (const [index, item] of (asArray(body.input) ?? []).entries()) {
    if (!isRecord(item)) continue;
    if (item.type === 'item_reference') throw refuse(`input[${index}]`, 'item references point at stored items; send the item itself');
    checkContentParts(item.content, `input[${index}].content`);
  }
}
