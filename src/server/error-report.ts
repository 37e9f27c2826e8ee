/**
 * Every error answer the service itself produces (its local replies, translation failures, internal errors) is
 * reported here: one `warn` line with what an operator needs to find the request, and one increment of
 * `llm_extproc_errors_total{reason}`. `reason` always comes from code (an error code), never from request content.
 * The message is not logged: it can carry what an upstream echoed back (client and backend credentials).
 */
import type { Exchange } from './exchange.js';
import type { ProcessingResponse } from './ext-proc-types.js';
import type { ProcessorDeps } from './processor.js';

export interface ServiceError {
  readonly status: number;
  /** A code from a fixed set (`unsupported_path`, `internal_error`, `upstream_invalid_response`, ...). */
  readonly reason: string;
}

const DETAILS_PREFIX = 'llm_extproc_';

/** Logs and counts one error answer, at most once per exchange. */
export function reportServiceError(deps: Pick<ProcessorDeps, 'metrics' | 'logger'>, exchange: Exchange | undefined, error: ServiceError): void {
  if (exchange) {
    if (exchange.errorReported) return;
    exchange.errorReported = true;
  }
  deps.metrics.recordError(error.reason);
  const attempt = exchange?.attempt;
  deps.logger.warn(
    {
      status: error.status,
      code: error.reason,
      clientApi: exchange?.endpoint?.clientApi,
      operation: exchange?.endpoint?.operationName,
      model: exchange?.request?.requestModel,
      backend: attempt?.backend.name,
      requestId: exchange?.id,
    },
    'error answered by llm-extproc',
  );
}

/** The service error an immediate response carries (status >= 400), read from its status and details. */
export function serviceErrorOf(response: ProcessingResponse | undefined): ServiceError | undefined {
  const immediate = response?.immediate_response;
  if (!immediate) return undefined;
  const status = Number(immediate.status?.code ?? 0);
  if (!(status >= 400)) return undefined;
  const details = immediate.details ?? '';
  const reason = details.startsWith(DETAILS_PREFIX) ? details.slice(DETAILS_PREFIX.length) : `status_${status}`;
  return { status, reason };
}
