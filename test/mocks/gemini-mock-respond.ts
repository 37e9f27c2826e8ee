/**
 * The mock's default behaviour, enough for end-to-end tests:
 * - the last turn holds functionResponses -> text "Tool results: <response JSON>; ...";
 * - tools declared (mode not NONE) and the user asks about the weather -> one functionCall to the first declared
 *   function with {"city":"Paris"}; Gemini 3 models get an `id` and a part-level `thoughtSignature` (SIGNATURE);
 * - responseJsonSchema set -> a JSON object built from the schema's properties;
 * - images (inlineData/fileData) -> "I see N image(s): <mime types>";
 * - otherwise "echo: <last user text>".
 */
import { geminiResponse, type GeminiMockReply, type GeminiMockRequest } from './gemini-mock.js';

type Json = Record<string, unknown>;

/** The thought signature the mock issues with function calls on Gemini 3 models (base64). */
export const SIGNATURE = Buffer.from('mock thought signature \u00ff\u00fe').toString('base64');

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const list = (value: unknown): Json[] => (Array.isArray(value) ? value.filter(isObject) : []);

function sample(schema: unknown): unknown {
  if (!isObject(schema)) return null;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  switch (schema.type) {
    case 'string':
      return 'sample';
    case 'integer':
    case 'number':
      return 42;
    case 'boolean':
      return true;
    case 'array':
      return [sample(schema.items)];
    default: {
      const out: Json = {};
      for (const [name, property] of Object.entries(isObject(schema.properties) ? schema.properties : {})) out[name] = sample(property);
      return out;
    }
  }
}

export function respondLikeGemini(request: GeminiMockRequest): GeminiMockReply {
  const body = request.body;
  const contents = list(body.contents);
  const last = contents.at(-1);
  const parts = list(last?.parts);
  const model = request.model;
  const reply = (replyParts: Json[]) => ({ kind: 'json', body: geminiResponse(replyParts, { model }) }) as const;

  const responses = parts.flatMap((part) => (isObject(part.functionResponse) ? [part.functionResponse] : []));
  if (responses.length > 0) return reply([{ text: `Tool results: ${responses.map((entry) => JSON.stringify(entry.response)).join('; ')}` }]);

  const text = parts.map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
  const declarations = list(body.tools).flatMap((tool) => list(tool.functionDeclarations));
  const config = isObject(body.toolConfig) && isObject(body.toolConfig.functionCallingConfig) ? body.toolConfig.functionCallingConfig : {};
  if (declarations.length > 0 && config.mode !== 'NONE' && /weather/i.test(text)) {
    const legacy = /(^|[/_-])gemini-(1|2)(\.\d+)?([-_]|$)/i.test(model);
    const functionCall: Json = { name: declarations[0]?.name, args: { city: 'Paris' } };
    if (!legacy) functionCall.id = `fc-${request.body.contents ? contents.length : 0}`;
    return reply([legacy ? { functionCall } : { functionCall, thoughtSignature: SIGNATURE }]);
  }

  const generation = isObject(body.generationConfig) ? body.generationConfig : {};
  if (generation.responseJsonSchema !== undefined) return reply([{ text: JSON.stringify(sample(generation.responseJsonSchema)) }]);
  if (generation.responseSchema !== undefined) return reply([{ text: JSON.stringify(sample(generation.responseSchema)) }]);

  const media = parts.flatMap((part) => {
    const data = isObject(part.inlineData) ? part.inlineData : isObject(part.fileData) ? part.fileData : undefined;
    return data ? [String(data.mimeType)] : [];
  });
  if (media.length > 0) return reply([{ text: `I see ${media.length} image(s): ${media.join(', ')}` }]);
  return reply([{ text: `echo: ${text}` }]);
}
