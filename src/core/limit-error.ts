/**
 * A configured size limit (config `limits`) was passed while reading an upstream answer. The server answers with
 * an error in the client's format and counts `reason` in llm_extproc_errors_total.
 */

/** Which limit was passed; also the error code the client and the metric see. */
export type LimitReason = 'upstream_decompressed_too_large' | 'upstream_response_too_large' | 'upstream_event_too_large';

export class LimitExceededError extends Error {
  constructor(
    readonly reason: LimitReason,
    /** The limit, in bytes. */
    readonly limit: number,
    message: string,
  ) {
    super(message);
    this.name = 'LimitExceededError';
  }
}

/** `8388608` -> `8 MiB`, `65536` -> `64 KiB`, `1000` -> `1000 bytes`: limits read better in whole units. */
export function describeBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && Number.isInteger(bytes / (1024 * 1024))) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && Number.isInteger(bytes / 1024)) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
