// Placeholder replaced by the GCP token implementation (issue 3).
import type { ResolvedAuth, ResolvedBackend } from '../config/load.js';
import { GatewayError } from '../core/errors.js';
import type { AuthHeaders } from './types.js';

export async function gcpAuthHeaders(_backend: ResolvedBackend, _gcp: NonNullable<ResolvedAuth['gcp']>): Promise<AuthHeaders> {
  throw new GatewayError('ERR_INTERNAL', 'GCP authentication is not available');
}
