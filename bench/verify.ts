/**
 * Checks that one exchange through the service did the work the scenario is meant to measure: the upstream request
 * built for the backend (the body it receives names the expected model), the response body switched to STREAMED for
 * a stream, translated (or passed through untouched), and token usage written as metadata at the end. A bench that
 * measured an error path or a skipped translation would report flattering numbers.
 */
import { METADATA_NAMESPACE, type Answer, type Exchange, type ExchangeAnswers } from './envoy-client.js';

export interface Expectation {
  /** The response body is rewritten (a translated provider format). */
  readonly translated: boolean;
  /** Appears in the upstream body the service sends (the model name the backend receives). */
  readonly upstreamModel: string;
}

type Phase = { response?: { status?: string; body_mutation?: { body?: Uint8Array } } };

const phase = (answer: Answer | undefined, kind: string): Phase | undefined => answer?.[kind] as Phase | undefined;

/** The problems found; empty when the exchange did what the scenario expects. */
export function checkServiceWork(exchange: Exchange, answers: ExchangeAnswers, expect: Expectation): string[] {
  const problems: string[] = [];
  const chunks = exchange.responseBody.length;
  if (answers.router.length !== 3 + chunks) problems.push(`router answers: ${answers.router.length}, expected ${3 + chunks}`);
  const upstream = phase(answers.upstream[0], 'request_headers')?.response;
  // Without a body_mutation Envoy sends the body it holds: the client's bytes (contract §2.3).
  const upstreamBody = Buffer.from(upstream?.body_mutation?.body ?? exchange.requestBody).toString('utf8');
  if (upstream?.status !== 'CONTINUE_AND_REPLACE' || !upstreamBody.includes(`"${expect.upstreamModel}"`)) {
    problems.push(`upstream request body does not name ${expect.upstreamModel} (status ${upstream?.status ?? 'none'})`);
  }
  const bodyAnswers = answers.router.slice(3);
  if (chunks > 1 && answers.router[2]?.mode_override?.response_body_mode !== 'STREAMED') problems.push('the response body was not switched to STREAMED');
  const rewritten = bodyAnswers.filter((answer) => phase(answer, 'response_body')?.response?.body_mutation !== undefined).length;
  if (expect.translated && rewritten === 0) problems.push('no response body was translated');
  if (!expect.translated && rewritten > 0) problems.push(`${rewritten} response body answer(s) rewrote a passthrough body`);
  const usage = bodyAnswers.at(-1)?.dynamic_metadata?.fields?.[METADATA_NAMESPACE]?.structValue?.fields?.['llm_total_token'] as { numberValue?: number } | undefined;
  if (!(Number(usage?.numberValue) > 0)) problems.push('no token usage in the last answer’s metadata');
  return problems;
}
