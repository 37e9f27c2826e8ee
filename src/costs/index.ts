/**
 * Token budgets: cost values (typed and CEL), reserve-then-settle estimates and local token counting.
 * Importing this module registers the CEL config validator.
 */
import { registerConfigValidator } from '../config/load.js';
import { validateCostExpressions } from './validate.js';

registerConfigValidator(validateCostExpressions);

export {
  CEL_INT_VARIABLES,
  CEL_STRING_VARIABLES,
  compileCel,
  evaluateCel,
  clampCost,
  setCostClampListener,
  type CelVariables,
  type ClampReason,
  type CompiledCel,
  type CompileResult,
  type CostClampListener,
} from './cel.js';
export { buildPlan, celVariables, costsFor, type CostPlan, type CostScope } from './costs.js';
export {
  estimateRequest,
  estimateReserve,
  expectedOutputTokens,
  reserveKey,
  reservedByKey,
  settle,
  type EstimateOperation,
  type RequestEstimate,
  type ReserveConfig,
  type ReserveRequest,
} from './estimate.js';
export { estimateInputTokens } from './estimate-input.js';
export {
  countOutputTokens,
  createTokenCounter,
  preloadEncoders,
  profileFor,
  tokenizerFamily,
  type FamilyProfile,
  type TokenCounter,
  type TokenizerFamily,
} from './tokenizer.js';
export { validateCostExpressions } from './validate.js';
