/**
 * What the Gemini generateContent endpoints reject, as the mock enforces it. Each check returns the message Google
 * sends (INVALID_ARGUMENT, HTTP 400), or undefined when the body is acceptable.
 *
 * - proto strictness: unknown members at the top level, in generationConfig, Content, Part, FunctionCall,
 *   FunctionResponse and FunctionDeclaration ("Unknown name ... Cannot find field");
 * - contents present and non-empty; roles `user` / `model` only; parts non-empty; no empty text part;
 * - functionCall only in model turns; functionResponse only in a user turn that directly follows a model turn with
 *   the same number of functionCall parts, names matching;
 * - `$ref` anywhere in parametersJsonSchema / responseJsonSchema (this gateway always inlines);
 * - `parameters` and `parametersJsonSchema` together; responseJsonSchema without a JSON responseMimeType;
 * - Gemini 1.x/2.x: `id` on functionCall/functionResponse (Vertex rejected it) and thinkingConfig.thinkingLevel;
 * - Gemini 3: the first functionCall of every model turn after the last user text turn needs a thoughtSignature;
 *   signatures must be base64 (or the documented skip value).
 */

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

const TOP_LEVEL = new Set(['contents', 'systemInstruction', 'tools', 'toolConfig', 'safetySettings', 'generationConfig', 'cachedContent', 'labels']);
const GENERATION_CONFIG = new Set([
  'stopSequences', 'maxOutputTokens', 'temperature', 'topP', 'topK', 'seed', 'candidateCount', 'presencePenalty',
  'frequencyPenalty', 'responseMimeType', 'responseSchema', 'responseJsonSchema', 'thinkingConfig', 'responseLogprobs', 'logprobs',
]);
const CONTENT = new Set(['role', 'parts']);
const PART = new Set(['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'thought', 'thoughtSignature']);
const FUNCTION_CALL = new Set(['name', 'args', 'id']);
const FUNCTION_RESPONSE = new Set(['name', 'response', 'id']);
const DECLARATION = new Set(['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema']);
const SKIP_SIGNATURE = 'skip_thought_signature_validator';

function unknownMember(value: Json, allowed: ReadonlySet<string>, at: string): string | undefined {
  const extra = Object.keys(value).find((key) => !allowed.has(key));
  return extra === undefined ? undefined : `Invalid JSON payload received. Unknown name "${extra}" at '${at}': Cannot find field.`;
}

function containsRef(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(containsRef);
  if (!isObject(value)) return false;
  return Object.entries(value).some(([key, entry]) => key === '$ref' || containsRef(entry));
}

/** Gemini 1.x and 2.0 predate the JSON Schema fields: they take only the OpenAPI `Schema` subset. */
function predatesJsonSchema(model: string): boolean {
  return /(^|[/_-])gemini-(1(\.\d+)?|2\.0)([-_]|$)/i.test(model);
}

const SCHEMA_FIELDS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'maxItems', 'minItems', 'properties', 'required', 'minProperties',
  'maxProperties', 'minLength', 'maxLength', 'pattern', 'example', 'anyOf', 'propertyOrdering', 'default', 'items', 'minimum', 'maximum',
]);

/** An OpenAPI-subset `Schema` (parameters, responseSchema): only its own fields, recursively, like Gemini's proto parser. */
function checkOpenApiSchema(schema: unknown, at: string): string | undefined {
  if (schema === undefined) return undefined;
  if (!isObject(schema)) return `${at} must be an object.`;
  const problem = unknownMember(schema, SCHEMA_FIELDS, at);
  if (problem) return problem;
  if (schema.enum !== undefined && (!Array.isArray(schema.enum) || !schema.enum.every((value) => typeof value === 'string'))) return `${at}.enum: only strings are allowed.`;
  for (const [name, inner] of Object.entries(isObject(schema.properties) ? schema.properties : {})) {
    const innerProblem = checkOpenApiSchema(inner, `${at}.properties[${name}]`);
    if (innerProblem) return innerProblem;
  }
  for (const [index, inner] of (Array.isArray(schema.anyOf) ? schema.anyOf : []).entries()) {
    const innerProblem = checkOpenApiSchema(inner, `${at}.any_of[${index}]`);
    if (innerProblem) return innerProblem;
  }
  return checkOpenApiSchema(schema.items, `${at}.items`);
}

function isLegacyModel(model: string): boolean {
  return /(^|[/_-])gemini-(1|2)(\.\d+)?([-_]|$)/i.test(model);
}

interface Turn {
  readonly role: string;
  readonly parts: Json[];
}

function checkParts(turn: Turn, index: number, legacy: boolean): string | undefined {
  for (const [partIndex, part] of turn.parts.entries()) {
    const at = `contents[${index}].parts[${partIndex}]`;
    const problem = unknownMember(part, PART, at);
    if (problem) return problem;
    if (part.text === '') return 'Unable to submit request because it has an empty text parameter. Add a value to the parameter and try again.';
    const signature = part.thoughtSignature;
    if (signature !== undefined && (typeof signature !== 'string' || (signature !== SKIP_SIGNATURE && !/^[A-Za-z0-9+/_-]+={0,2}$/.test(signature)))) {
      return `Invalid value at '${at}.thought_signature' (TYPE_BYTES), Base64 decoding failed`;
    }
    for (const [key, allowed] of [['functionCall', FUNCTION_CALL], ['functionResponse', FUNCTION_RESPONSE]] as const) {
      const inner = part[key];
      if (inner === undefined) continue;
      if (!isObject(inner) || typeof inner.name !== 'string' || inner.name === '') return `${at}.${key}.name is required.`;
      const innerProblem = unknownMember(inner, allowed, `${at}.${key === 'functionCall' ? 'function_call' : 'function_response'}`);
      if (innerProblem) return innerProblem;
      if (legacy && inner.id !== undefined) {
        return `Invalid JSON payload received. Unknown name "id" at '${at}.${key === 'functionCall' ? 'function_call' : 'function_response'}': Cannot find field.`;
      }
    }
    if (part.functionCall !== undefined && turn.role !== 'model') return 'Function calls are only allowed in model turns.';
    if (part.functionResponse !== undefined && turn.role !== 'user') return 'Function responses are only allowed in user turns.';
  }
  return undefined;
}

function names(turn: Turn | undefined, key: 'functionCall' | 'functionResponse'): string[] {
  return (turn?.parts ?? []).flatMap((part) => (isObject(part[key]) ? [String(part[key].name)] : []));
}

function checkTurns(turns: Turn[], model: string): string | undefined {
  const legacy = isLegacyModel(model);
  for (const [index, turn] of turns.entries()) {
    const problem = checkParts(turn, index, legacy);
    if (problem) return problem;
    const responses = names(turn, 'functionResponse');
    if (responses.length === 0) continue;
    const calls = names(turns[index - 1], 'functionCall');
    if (calls.length === 0) return 'Please ensure that function response turn comes immediately after a function call turn.';
    if (calls.length !== responses.length) {
      return 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
    }
    if ([...calls].sort().join() !== [...responses].sort().join()) return 'Function response names do not match the function call names.';
  }
  if (!legacy) {
    // Gemini 3 validates signatures in the current turn: after the last user turn that is not only function responses
    let start = 0;
    turns.forEach((turn, index) => {
      if (turn.role === 'user' && turn.parts.some((part) => part.functionResponse === undefined)) start = index;
    });
    for (let index = start; index < turns.length; index += 1) {
      const first = turns[index]?.parts.find((part) => part.functionCall !== undefined);
      if (first && typeof first.thoughtSignature !== 'string') {
        return `Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly. Position ${index}.`;
      }
    }
  }
  return undefined;
}

function checkTools(tools: unknown, model: string): string | undefined {
  if (tools === undefined) return undefined;
  if (!Array.isArray(tools)) return 'tools must be a list.';
  for (const [index, tool] of tools.entries()) {
    if (!isObject(tool)) return 'tools must be objects.';
    for (const [declarationIndex, declaration] of (Array.isArray(tool.functionDeclarations) ? tool.functionDeclarations : []).entries()) {
      const at = `tools[${index}].function_declarations[${declarationIndex}]`;
      if (!isObject(declaration)) return `${at} must be an object.`;
      const problem = unknownMember(declaration, DECLARATION, at);
      if (problem) return problem;
      if (typeof declaration.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/.test(declaration.name)) return `${at}.name is invalid.`;
      if (declaration.parameters !== undefined && declaration.parametersJsonSchema !== undefined) {
        return `${at}: parameters and parameters_json_schema are mutually exclusive.`;
      }
      if (containsRef(declaration.parametersJsonSchema)) return `${at}.parameters_json_schema: $ref is not supported here.`;
      if (declaration.parametersJsonSchema !== undefined && predatesJsonSchema(model)) return `${at}.parameters_json_schema is not supported for this model.`;
      const schemaProblem = checkOpenApiSchema(declaration.parameters, `${at}.parameters`);
      if (schemaProblem) return schemaProblem;
    }
  }
  return undefined;
}

function checkGenerationConfig(config: unknown, model: string): string | undefined {
  if (config === undefined) return undefined;
  if (!isObject(config)) return 'generation_config must be an object.';
  const problem = unknownMember(config, GENERATION_CONFIG, 'generation_config');
  if (problem) return problem;
  if (containsRef(config.responseJsonSchema)) return 'generation_config.response_json_schema: $ref is not supported here.';
  if (config.responseJsonSchema !== undefined && predatesJsonSchema(model)) return 'generation_config.response_json_schema is not supported for this model.';
  const schemaProblem = checkOpenApiSchema(config.responseSchema, 'generation_config.response_schema');
  if (schemaProblem) return schemaProblem;
  if (config.responseJsonSchema !== undefined && config.responseMimeType !== 'application/json') {
    return 'response_mime_type must be application/json when a response schema is set.';
  }
  const thinking = config.thinkingConfig;
  if (isObject(thinking) && thinking.thinkingLevel !== undefined && isLegacyModel(model)) return 'Thinking level is not supported for this model.';
  return undefined;
}

/** The INVALID_ARGUMENT message for a request body, or undefined when Gemini would accept it. */
export function validateGeminiRequest(body: unknown, model: string): string | undefined {
  if (!isObject(body)) return 'Invalid JSON payload received.';
  const top = unknownMember(body, TOP_LEVEL, '');
  if (top) return top;
  if (!Array.isArray(body.contents) || body.contents.length === 0) return '* GenerateContentRequest.contents: contents is not specified';
  const turns: Turn[] = [];
  for (const [index, content] of body.contents.entries()) {
    if (!isObject(content)) return `contents[${index}] must be an object.`;
    const problem = unknownMember(content, CONTENT, `contents[${index}]`);
    if (problem) return problem;
    if (content.role !== 'user' && content.role !== 'model') return 'Please use a valid role: user, model.';
    if (!Array.isArray(content.parts) || content.parts.length === 0 || !content.parts.every(isObject)) {
      return `* GenerateContentRequest.contents[${index}].parts: contents.parts must not be empty.`;
    }
    turns.push({ role: content.role, parts: content.parts as Json[] });
  }
  const system = body.systemInstruction;
  if (system !== undefined && (!isObject(system) || !Array.isArray(system.parts) || system.parts.length === 0)) {
    return 'system_instruction.parts must not be empty.';
  }
  return checkTurns(turns, model) ?? checkTools(body.tools, model) ?? checkGenerationConfig(body.generationConfig, model);
}
