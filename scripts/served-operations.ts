/**
 * The "What each schema serves" section of docs/config-reference.md, rendered from the translator table
 * (src/translators/table.ts) by servedOperationsTable.
 */
import { findEndpoint } from '../src/server/endpoints.js';
import { servedOperationsTable, tableOperations, type TranslatorTable } from '../src/translators/table.js';

export const SERVED_OPERATIONS_ANCHOR = 'what-each-schema-serves';

/**
 * The client path of each (client API, operation) in the table. src/server/endpoints.ts does not export its
 * endpoint table, so the paths are repeated here; servedPaths() checks each against its findEndpoint.
 */
export const SERVED_PATHS: Readonly<Record<string, string>> = {
  'openai/chat': '/v1/chat/completions',
  'openai/responses': '/v1/responses',
  'openai/input_tokens': '/v1/responses/input_tokens',
  'openai/completion': '/v1/completions',
  'openai/embeddings': '/v1/embeddings',
  'openai/image_generation': '/v1/images/generations',
  'anthropic/messages': '/anthropic/v1/messages',
  'anthropic/count_tokens': '/anthropic/v1/messages/count_tokens',
};

/** SERVED_PATHS, after checking that the service routes each path to its operation and that every operation has one. */
export function servedPaths(translators: TranslatorTable): Readonly<Record<string, string>> {
  const problems: string[] = [];
  for (const { clientApi, operation } of tableOperations(translators)) {
    const key = `${clientApi}/${operation}`;
    const path = SERVED_PATHS[key];
    const endpoint = path === undefined ? undefined : findEndpoint(path);
    if (path === undefined) problems.push(`${key}: no path in SERVED_PATHS`);
    else if (endpoint?.clientApi !== clientApi || endpoint.operation !== operation) {
      problems.push(`${key}: src/server/endpoints.ts does not route ${path} to it`);
    }
  }
  if (problems.length > 0) throw new Error(`scripts/served-operations.ts is out of date:\n  ${problems.join('\n  ')}`);
  return SERVED_PATHS;
}

/** The section's Markdown lines. */
export function servedOperationsSection(translators: TranslatorTable): string[] {
  return [
    `## <a id="${SERVED_OPERATIONS_ANCHOR}"></a>What each schema serves`,
    '',
    'Which client endpoints a backend of each `schema` serves, from the translator table',
    '(`src/translators/table.ts`). A request for an endpoint marked — is answered 422 without reaching the backend.',
    '',
    servedOperationsTable(translators, servedPaths(translators)),
  ];
}
