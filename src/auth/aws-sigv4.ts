// Placeholder replaced by the AWS SigV4 implementation (issue 3).
import type { ResolvedAuth, ResolvedBackend } from '../config/load.js';
import { GatewayError } from '../core/errors.js';
import type { AuthHeaders, SignableRequest } from './types.js';

export async function awsSigV4Headers(
  _backend: ResolvedBackend,
  _aws: NonNullable<ResolvedAuth['aws']>,
  _request: SignableRequest,
): Promise<AuthHeaders> {
  throw new GatewayError('ERR_INTERNAL', 'AWS SigV4 signing is not available');
}
