/**
 * The gateway's own errors, rendered in the client's API format.
 * Only GatewayError reaches clients with its message; anything else becomes a generic 500.
 */
export type ClientApi = 'openai' | 'anthropic';

export const ERROR_CODES = {
  ERR_MALFORMED_REQUEST: 400,
  ERR_UNSUPPORTED_CONTENT_TYPE: 400,
  ERR_UNKNOWN_MODEL: 404,
  ERR_UNKNOWN_PATH: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_TOO_MANY_MESSAGES: 400,
  ERR_TOO_MANY_TOOLS: 400,
  ERR_TOO_MANY_CONTENT_PARTS: 400,
  ERR_MAX_TOKENS_TOO_LARGE: 400,
  ERR_UNSUPPORTED_PARAMETER: 400,
  ERR_INVALID_REQUEST: 422,
  ERR_MISSING_CREDENTIAL: 401,
  ERR_UPSTREAM_INVALID_RESPONSE: 502,
  ERR_UPSTREAM_ERROR: 502,
  ERR_INTERNAL: 500,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { status?: number; param?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'GatewayError';
    this.status = options.status ?? ERROR_CODES[code];
    this.param = options.param;
  }
  readonly param: string | undefined;

  static isInstance(value: unknown): value is GatewayError {
    return value instanceof GatewayError;
  }
}

/** OpenAI error `type` for an HTTP status. */
export function openAIErrorType(status: number): string {
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 429) return 'rate_limit_error';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

/** Anthropic error `type` for an HTTP status. */
export function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
    case 422:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
      return 'service_unavailable_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

export interface ErrorShape {
  status: number;
  message: string;
  type?: string;
  code?: string | null;
  param?: string | null;
}

/** `{"error":{"message","type","param","code"}}` */
export function openAIErrorBody(error: ErrorShape): string {
  return JSON.stringify({
    error: {
      message: error.message,
      type: error.type ?? openAIErrorType(error.status),
      param: error.param ?? null,
      code: error.code ?? null,
    },
  });
}

/** `{"type":"error","error":{"type","message"}}` */
export function anthropicErrorBody(error: ErrorShape): string {
  return JSON.stringify({ type: 'error', error: { type: error.type ?? anthropicErrorType(error.status), message: error.message } });
}

export function errorBodyFor(api: ClientApi, error: ErrorShape): string {
  return api === 'anthropic' ? anthropicErrorBody(error) : openAIErrorBody(error);
}
