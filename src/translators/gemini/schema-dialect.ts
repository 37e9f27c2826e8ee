/**
 * Which schema fields a Gemini model takes for tool parameters and structured output.
 *
 * | dialect | fields | models |
 * |---|---|---|
 * | `json-schema` | `parametersJsonSchema`, `responseJsonSchema` (JSON Schema, key order kept) | Gemini 2.5 and later, and any id that does not name an older version |
 * | `openapi` | `parameters`, `responseSchema` (the OpenAPI 3.0 subset, see convertOpenApiSchema) | ids naming Gemini 1.0, 1.5 or 2.0 |
 *
 * Sources: the Gemini API structured-output guide introduced JSON Schema (`responseJsonSchema`) as a preview for
 * Gemini 2.5; the November 2025 Gemini API announcement extended JSON Schema to the actively supported models; the
 * Vertex AI controlled-generation guide documents Gemini 1.5 with `responseSchema`, and Gemini 2.0 structured
 * output needs an explicit `propertyOrdering`, which only the OpenAPI subset has. The model's
 * `geminiSchemaFields` config key overrides the rule.
 * @see https://ai.google.dev/gemini-api/docs/structured-output
 * @see https://ai.google.dev/api/caching#FunctionDeclaration
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/control-generated-output
 */
export type GeminiSchemaDialect = 'json-schema' | 'openapi';

const OPENAPI_MODELS = /(^|[/_-])gemini-(1(\.\d+)?|2\.0)([-_]|$)/i;

export function geminiSchemaDialect(model: string, override: GeminiSchemaDialect | undefined): GeminiSchemaDialect {
  if (override !== undefined) return override;
  return OPENAPI_MODELS.test(model) ? 'openapi' : 'json-schema';
}
