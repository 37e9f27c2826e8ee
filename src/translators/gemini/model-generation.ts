/**
 * Which request conventions a Gemini model takes. Only model names that clearly say 1.x or 2.x are "legacy";
 * everything else (gemini-3*, aliases such as gemini-flash-latest, tuned or unknown names) is treated as current,
 * because legacy names are always versioned and new aliases point at current models.
 *
 * | convention                          | legacy (1.x, 2.x)                  | current (3 and later)                 |
 * |-------------------------------------|------------------------------------|---------------------------------------|
 * | `id` on functionCall/functionResponse | omitted (Vertex 2.x rejected it) | sent (Gemini 3 matches calls by id)   |
 * | thought signature on replayed calls | sent when known                    | sent; a documented placeholder when unknown |
 * | reasoning_effort                    | thinkingConfig.thinkingBudget      | thinkingConfig.thinkingLevel          |
 *
 * @see https://ai.google.dev/gemini-api/docs/thought-signatures
 * @see https://ai.google.dev/gemini-api/docs/thinking
 */
export type GeminiGeneration = 'legacy' | 'current';

const LEGACY = /(^|[/_-])gemini-(1|2)(\.\d+)?([-_]|$)/i;

export function geminiGeneration(model: string): GeminiGeneration {
  return LEGACY.test(model) ? 'legacy' : 'current';
}
