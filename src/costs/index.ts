/**
 * Token budgets: cost values (typed and CEL), reserve-then-settle estimates and local token counting.
 * The CEL config validator (validateCostExpressions) is handed to the config loader by the composition root.
 */
export {
  CEL_INT_VARIABLES,
  CEL_STRING_VARIABLES,
  compileCel,
  evaluateCel,
  clampCost,
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
