/**
 * The one place that says which translator serves which (client API, operation, backend schema). Nothing
 * registers itself: the composition root (src/service.ts) calls createTranslatorTable() and hands the table to
 * the server through its dependencies. The docs' "what each schema serves" table is generated from it too.
 *
 * Adding a translator: build it in its folder, then add it to the table below.
 */
import type { RuntimeConfig } from '../config/load.js';
import { SCHEMAS, type BackendSchema } from '../config/schema.js';
import { anthropicTranslator, gcpAnthropicTranslator } from './anthropic/index.js';
import {
  anthropicCountTokensTranslator,
  awsAnthropicCountTokensTranslator,
  bedrockConverseCountTokensTranslator,
  gcpAnthropicCountTokensTranslator,
  geminiCountTokensTranslator,
} from './anthropic-ingress/count-tokens.js';
import {
  anthropicPassthroughTranslator,
  anthropicToAzureOpenAITranslator,
  anthropicToBedrockConverseTranslator,
  anthropicToGeminiTranslator,
  anthropicToOpenAITranslator,
  awsAnthropicPassthroughTranslator,
  gcpAnthropicPassthroughTranslator,
} from './anthropic-ingress/index.js';
import { awsAnthropicTranslator } from './aws-anthropic/index.js';
import { azureOpenAITranslator } from './azure-openai/index.js';
import { bedrockConverseTranslator } from './bedrock/index.js';
import { bedrockEmbeddingsTranslator, googleEmbeddingsTranslator } from './embeddings/index.js';
import { geminiTranslator } from './gemini/index.js';
import { azureOpenAIImagesTranslator, openAIImagesTranslator } from './images/index.js';
import { openAITranslator } from './openai/index.js';
import { azureResponsesPath, createResponsesPassthrough, createInputTokensPassthrough, openAIResponsesPath, responsesViaChat } from './responses/index.js';
import type { ClientApi, Operation, Translator } from './types.js';

/** Operations each client API speaks. */
export interface ClientOperations {
  readonly openai: 'chat' | 'responses' | 'input_tokens' | 'completion' | 'embeddings' | 'image_generation';
  readonly anthropic: 'messages' | 'count_tokens';
}

/** Client API -> operation -> backend schema -> translator. A missing entry means "not served". */
export type TranslatorTable = {
  readonly [A in ClientApi]: { readonly [O in ClientOperations[A]]: Partial<Readonly<Record<BackendSchema, Translator>>> };
};

export function createTranslatorTable(): TranslatorTable {
  const responsesViaGemini = responsesViaChat(geminiTranslator);
  return {
    openai: {
      chat: {
        OpenAI: openAITranslator,
        AzureOpenAI: azureOpenAITranslator,
        Anthropic: anthropicTranslator,
        GCPAnthropic: gcpAnthropicTranslator,
        AWSAnthropic: awsAnthropicTranslator,
        AWSBedrock: bedrockConverseTranslator,
        GCPVertexAI: geminiTranslator,
        GoogleAI: geminiTranslator,
      },
      // OpenAI and Azure serve the Responses API themselves; every other schema through its chat translator.
      responses: {
        OpenAI: createResponsesPassthrough(openAIResponsesPath),
        AzureOpenAI: createResponsesPassthrough(azureResponsesPath),
        Anthropic: responsesViaChat(anthropicTranslator),
        GCPAnthropic: responsesViaChat(gcpAnthropicTranslator),
        AWSAnthropic: responsesViaChat(awsAnthropicTranslator),
        AWSBedrock: responsesViaChat(bedrockConverseTranslator),
        GCPVertexAI: responsesViaGemini,
        GoogleAI: responsesViaGemini,
      },
      // OpenAI's own counting API; every other schema (Azure's v1 API documents no such path) is answered from the local estimate.
      input_tokens: { OpenAI: createInputTokensPassthrough() },
      completion: { OpenAI: openAITranslator, AzureOpenAI: azureOpenAITranslator },
      embeddings: {
        OpenAI: openAITranslator,
        AzureOpenAI: azureOpenAITranslator,
        AWSBedrock: bedrockEmbeddingsTranslator,
        GCPVertexAI: googleEmbeddingsTranslator,
        GoogleAI: googleEmbeddingsTranslator,
      },
      image_generation: { OpenAI: openAIImagesTranslator, AzureOpenAI: azureOpenAIImagesTranslator },
    },
    anthropic: {
      messages: {
        Anthropic: anthropicPassthroughTranslator,
        GCPAnthropic: gcpAnthropicPassthroughTranslator,
        AWSAnthropic: awsAnthropicPassthroughTranslator,
        OpenAI: anthropicToOpenAITranslator,
        AzureOpenAI: anthropicToAzureOpenAITranslator,
        AWSBedrock: anthropicToBedrockConverseTranslator,
        GCPVertexAI: anthropicToGeminiTranslator,
        GoogleAI: anthropicToGeminiTranslator,
      },
      // The providers' own counting APIs; OpenAI and Azure have none and are answered from the local estimate.
      count_tokens: {
        Anthropic: anthropicCountTokensTranslator,
        GCPAnthropic: gcpAnthropicCountTokensTranslator,
        AWSAnthropic: awsAnthropicCountTokensTranslator,
        AWSBedrock: bedrockConverseCountTokensTranslator,
        GCPVertexAI: geminiCountTokensTranslator,
        GoogleAI: geminiCountTokensTranslator,
      },
    },
  };
}

/** The translator for one request, or undefined when the backend's schema does not serve that operation. */
export function lookupTranslator(
  table: TranslatorTable,
  clientApi: ClientApi,
  operation: Operation,
  schema: BackendSchema,
): Translator | undefined {
  const operations: Readonly<Partial<Record<Operation, Partial<Readonly<Record<BackendSchema, Translator>>>>>> = table[clientApi];
  return operations[operation]?.[schema];
}

/** Every (client API, operation) pair in the table, in a stable order. */
export function tableOperations(table: TranslatorTable): Array<{ clientApi: ClientApi; operation: Operation }> {
  const pairs: Array<{ clientApi: ClientApi; operation: Operation }> = [];
  for (const clientApi of Object.keys(table) as ClientApi[]) {
    for (const operation of Object.keys(table[clientApi]) as Operation[]) pairs.push({ clientApi, operation });
  }
  return pairs;
}

/**
 * Problems that must stop the service from starting: a schema the config accepts that cannot serve OpenAI chat
 * completions (every request to it would be answered 422). Empty when the table is complete enough to serve.
 */
export function checkTranslatorTable(table: TranslatorTable, schemas: readonly BackendSchema[] = SCHEMAS): string[] {
  const problems: string[] = [];
  for (const schema of schemas) {
    if (!lookupTranslator(table, 'openai', 'chat', schema)) {
      problems.push(`translator table: schema ${schema} has no openai chat translator, so every request to a ${schema} backend would fail`);
    }
  }
  return problems;
}

/** Problems that make a loaded config unservable with this table (a backend no request could reach). */
export function unservableBackends(config: Pick<RuntimeConfig, 'backends'>, table: TranslatorTable): string[] {
  const problems: string[] = [];
  for (const backend of config.backends.values()) {
    if (!lookupTranslator(table, 'openai', 'chat', backend.schema)) {
      problems.push(`backend ${backend.name}: no translator serves schema ${backend.schema}`);
    }
  }
  return problems;
}

/** What each schema serves, as Markdown rows: `| Schema | /v1/chat/completions | ... |` (for the docs). */
export function servedOperationsTable(table: TranslatorTable, paths: Readonly<Record<string, string>>): string {
  const columns = tableOperations(table);
  const header = `| schema | ${columns.map(({ clientApi, operation }) => `\`${paths[`${clientApi}/${operation}`] ?? `${clientApi} ${operation}`}\``).join(' | ')} |`;
  const rule = `|---|${columns.map(() => '---').join('|')}|`;
  const rows = SCHEMAS.map(
    (schema) => `| ${schema} | ${columns.map(({ clientApi, operation }) => (lookupTranslator(table, clientApi, operation, schema) ? 'yes' : '—')).join(' | ')} |`,
  );
  return [header, rule, ...rows].join('\n');
}
