/** Credential injection for one upstream attempt, run last, over the final request. */
export interface SignableRequest {
  readonly method: string;
  /** Final `:path`, query included. */
  readonly path: string;
  /** Upstream host (from the backend endpoint), e.g. bedrock-runtime.us-east-1.amazonaws.com */
  readonly host: string;
  /** Final body bytes. */
  readonly body: Uint8Array;
}

export interface AuthHeaders {
  /** Headers to set (lower-case names). */
  readonly set: Readonly<Record<string, string>>;
}
