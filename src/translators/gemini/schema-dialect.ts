/**
 * Which schema fields a Gemini model takes for tool parameters and structured output.
 *
 * | dialect | fields | models |
 * |---|---|---|
 * | `json-schema` | `parametersJsonSchema`, `responseJsonSchema` (JSON Schema, key order kept) | Gemini 2.5 and later, and any id that does not name an older version |
 * | `openapi` | `parameters`, `responseSchema` (the OpenAPI 3.0 subset, see convertOpenApiSchema) | ids naming Gemini 1.0, 1.5 or 2.0 |
 *
 * Sources (the rule is written out in docs/providers.md, "Schema fields by model"): the structured-output guide
 * introduced `responseJsonSchema` for Gemini 2.5; Google's November 2025 announcement extended JSON Schema to all
 * actively supported models and keeps key order for Gemini 2.5 and later only, so Gemini 2.0 keeps the OpenAPI subset
 * with its explicit `propertyOrdering`; the Vertex AI controlled-generation guide documents Gemini 1.5 with
 * `responseSchema` only. The model's `geminiSchemaFields` config key overrides the rule.
 * @see https://ai.google.dev/gemini-api/docs/structured-output
 * @see https://blog.google/technology/developers/gemini-api-structured-outputs
 * @see https://ai.google.dev/api/caching#FunctionDeclaration
 * @see https://cloud.google.com/vertex-ai/generative-ai/docs/multimodal/control-generated-output
 */
export type GeminiSchemaDialect = 'json-schema' | 'openapi';

const OPENAPI_MODELS = /(^|[/_-])gemini-(1(\.\d+)?|2\.0)([-_]|$)/i;

export function geminiSchemaDialect(model: string, override: GeminiSchemaDialect | undefined): GeminiSchemaDialect {
  if (override !== undefined) return override;
  return OPENAPI_MODELS.test(model) ? 'openapi' : 'json-schema';
}
