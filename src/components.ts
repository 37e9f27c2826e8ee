/**
 * The tables the service is built from: which translator serves which request, and which checks a config must
 * pass beyond its schema. Built here, once, by plain function calls; nothing in src/ fills a table when it is
 * imported. The CLI (src/main.ts), src/service.ts, the tests and the benchmark all get them from here.
 */
import type { ConfigValidator } from './config/load.js';
import { validateCostExpressions } from './costs/validate.js';
import { createTranslatorTable, type TranslatorTable } from './translators/table.js';

export interface Components {
  readonly translators: TranslatorTable;
  readonly configValidators: readonly ConfigValidator[];
}

export function createComponents(): Components {
  return {
    translators: createTranslatorTable(),
    configValidators: [validateCostExpressions],
  };
}
