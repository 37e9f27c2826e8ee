/**
 * The service's tables for tests, built by the same function the CLI uses (src/components.ts). Unit tests that
 * parse a config or look up a translator take them from here; nothing is registered by importing a module.
 */
import { createComponents } from '../../src/components.js';
import { lookupTranslator } from '../../src/translators/table.js';
import type { BackendSchema } from '../../src/config/schema.js';
import type { ClientApi, Operation, Translator } from '../../src/translators/types.js';

export const COMPONENTS = createComponents();
export const VALIDATORS = COMPONENTS.configValidators;

/** The shipped translator for a (client API, operation, schema); throws when the table has none. */
export function shippedTranslator(clientApi: ClientApi, operation: Operation, schema: BackendSchema): Translator {
  const translator = lookupTranslator(COMPONENTS.translators, clientApi, operation, schema);
  if (!translator) throw new Error(`no shipped translator for ${clientApi} ${operation} on ${schema}`);
  return translator;
}

/** The shipped translator, or undefined when the table has none. */
export function findShippedTranslator(clientApi: ClientApi, operation: Operation, schema: BackendSchema): Translator | undefined {
  return lookupTranslator(COMPONENTS.translators, clientApi, operation, schema);
}
