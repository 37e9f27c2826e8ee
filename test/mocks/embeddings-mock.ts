/**
 * Embedding answers for the provider mocks, in each provider's wire format, validated the way the provider
 * validates (batch limits, required fields, accepted dimensions). Vectors are deterministic: component i of a
 * text's vector is ((length + i) % 7) / 8, so tests can check order; token counts are one per 4 characters.
 */
type Json = Record<string, unknown>;

export interface EmbedAnswer {
  readonly status: number;
  readonly body: Json;
  readonly headers?: Record<string, string>;
}

export function mockVector(text: string, dimensions: number): number[] {
  return Array.from({ length: dimensions }, (_, index) => ((text.length + index) % 7) / 8);
}

export function mockTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function textOfContent(content: unknown): string | undefined {
  if (typeof content !== 'object' || content === null) return undefined;
  const parts = (content as Json).parts;
  if (!Array.isArray(parts) || parts.length === 0) return undefined;
  const texts = parts.map((part) => (typeof part === 'object' && part !== null ? (part as Json).text : undefined));
  return texts.every((text): text is string => typeof text === 'string') ? texts.join('') : undefined;
}

function dimensionsOf(value: unknown, fallback: number): number | string {
  if (value === undefined) return fallback;
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 3072 ? value : `outputDimensionality ${String(value)} is not valid`;
}

/** Vertex `:predict` for the text-embedding models: `{instances: [{content}], parameters}` (error: a Google 400 message). */
export function vertexPredict(model: string, body: Json): { answer: Json } | { error: string } {
  const instances = body.instances;
  if (!Array.isArray(instances) || instances.length === 0) return { error: 'instances must be a non-empty list' };
  const limit = model.startsWith('gemini-embedding-001') ? 1 : 250;
  if (instances.length > limit) return { error: `Unable to submit request because the model supports up to ${limit} instances per request, but got ${instances.length}.` };
  const parameters = (typeof body.parameters === 'object' && body.parameters !== null ? body.parameters : {}) as Json;
  const dims = dimensionsOf(parameters.outputDimensionality, 4);
  if (typeof dims === 'string') return { error: dims };
  if (parameters.autoTruncate !== undefined && typeof parameters.autoTruncate !== 'boolean') return { error: 'autoTruncate must be a boolean' };
  const predictions: Json[] = [];
  for (const instance of instances) {
    const content = typeof instance === 'object' && instance !== null ? (instance as Json).content : undefined;
    if (typeof content !== 'string') return { error: 'each instance needs a string content' };
    predictions.push({ embeddings: { values: mockVector(content, dims), statistics: { token_count: mockTokens(content), truncated: false } } });
  }
  return { answer: { predictions, metadata: { billableCharacterCount: instances.length } } };
}

/** Vertex `:embedContent`: one content -> `{embedding: {values}, usageMetadata}`. */
export function vertexEmbedContent(body: Json): { answer: Json } | { error: string } {
  const text = textOfContent(body.content);
  if (text === undefined) return { error: 'content.parts[].text is required' };
  const dims = dimensionsOf(body.outputDimensionality, 4);
  if (typeof dims === 'string') return { error: dims };
  const tokens = mockTokens(text);
  return { answer: { embedding: { values: mockVector(text, dims) }, usageMetadata: { promptTokenCount: tokens, totalTokenCount: tokens }, truncated: false } };
}

/** Gemini API `:batchEmbedContents`: each request names `models/{model}` of the path; at most 100; no usage in the answer. */
export function googleBatchEmbed(model: string, body: Json): { answer: Json } | { error: string } {
  const requests = body.requests;
  if (!Array.isArray(requests) || requests.length === 0) return { error: '* BatchEmbedContentsRequest.requests: requests is required' };
  if (requests.length > 100) return { error: '* BatchEmbedContentsRequest.requests: at most 100 requests can be in one batch' };
  const embeddings: Json[] = [];
  for (const [index, entry] of requests.entries()) {
    const request = (typeof entry === 'object' && entry !== null ? entry : {}) as Json;
    if (request.model !== `models/${model}`) return { error: `* BatchEmbedContentsRequest.requests[${index}].model: the model must be the one of the batch request (models/${model})` };
    const text = textOfContent(request.content);
    if (text === undefined) return { error: `* BatchEmbedContentsRequest.requests[${index}].content: content.parts[].text is required` };
    const dims = dimensionsOf(request.outputDimensionality, 4);
    if (typeof dims === 'string') return { error: dims };
    embeddings.push({ values: mockVector(text, dims) });
  }
  return { answer: { embeddings } };
}

/** Bedrock InvokeModel for Titan Text Embeddings v2 and Cohere Embed; undefined for other models. */
export function bedrockEmbed(modelId: string, body: Json): EmbedAnswer | undefined {
  const invalid = (message: string): EmbedAnswer => ({ status: 400, body: { message } });
  if (modelId.includes('amazon.titan-embed-text')) {
    for (const key of Object.keys(body)) {
      if (!['inputText', 'dimensions', 'normalize', 'embeddingTypes'].includes(key)) return invalid(`Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`);
    }
    if (typeof body.inputText !== 'string' || body.inputText === '') return invalid('Malformed input request: #/inputText: expected minLength: 1, please reformat your input and try again.');
    const dims = body.dimensions ?? 1024;
    if (![256, 512, 1024].includes(dims as number)) return invalid(`Malformed input request: #/dimensions: ${String(dims)} is not a valid enum value, please reformat your input and try again.`);
    const vector = mockVector(body.inputText, dims as number);
    return { status: 200, body: { embedding: vector, inputTextTokenCount: mockTokens(body.inputText), embeddingsByType: { float: vector } } };
  }
  if (modelId.includes('cohere.embed-')) {
    const texts = body.texts;
    if (!Array.isArray(texts) || !texts.every((text) => typeof text === 'string')) return invalid('Malformed input request: #/texts: expected type: JSONArray of strings');
    if (texts.length > 96) return invalid(`Malformed input request: #/texts: expected maximum item count: 96, found: ${texts.length}, please reformat your input and try again.`);
    if (!['search_document', 'search_query', 'classification', 'clustering'].includes(body.input_type as string)) return invalid('Malformed input request: #: required key [input_type] not found, please reformat your input and try again.');
    const vectors = (texts as string[]).map((text) => mockVector(text, 4));
    const byType = Array.isArray(body.embedding_types);
    const tokens = (texts as string[]).reduce((sum, text) => sum + mockTokens(text), 0);
    return {
      status: 200,
      body: { id: 'mock-embed', texts, embeddings: byType ? { float: vectors } : vectors, response_type: byType ? 'embeddings_by_type' : 'embeddings_floats' },
      headers: { 'x-amzn-bedrock-input-token-count': String(tokens) },
    };
  }
  return undefined;
}
