/**
 * `GET /anthropic/v1/models`, answered by the service itself: the configured model names in Anthropic's list shape
 * (one page, no pagination). The local count_tokens answer is in count-tokens-local.ts.
 * @see https://platform.claude.com/docs/en/api/models/list
 */

/** `{data: [{type: "model", id, display_name, created_at}], first_id, last_id, has_more: false}` */
export function anthropicModelsList(modelNames: Iterable<string>, createdAt: Date): string {
  const created = createdAt.toISOString();
  const data = [...modelNames].map((id) => ({ type: 'model', id, display_name: id, created_at: created }));
  return JSON.stringify({ data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false });
}
