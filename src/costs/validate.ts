/**
 * Config-load validation of cost entries the schema cannot check: CEL expressions are parsed, type-checked and
 * smoke-evaluated once here (the compiled programs are cached for the request path).
 */
import type { ConfigFile } from '../config/schema.js';
import { compileCel } from './cel.js';

/** One error string per bad expression, prefixed with the cost's path. */
export function validateCostExpressions(file: ConfigFile): string[] {
  const errors: string[] = [];
  for (const [index, cost] of file.costs.entries()) {
    if (cost.type !== 'CEL' || !cost.cel) continue;
    const compiled = compileCel(cost.cel);
    if (!compiled.ok) errors.push(`costs[${index}].cel: invalid CEL expression for "${cost.metadataKey}": ${compiled.error}`);
  }
  return errors;
}
