/** Where translators are looked up by (client API, operation, backend schema). */
import type { BackendSchema } from '../config/schema.js';
import type { ClientApi, Operation, Translator } from './types.js';

const translators = new Map<string, Translator>();

function keyOf(clientApi: ClientApi, operation: Operation, schema: BackendSchema): string {
  return `${clientApi}/${operation}/${schema}`;
}

export function registerTranslator(
  clientApi: ClientApi,
  operations: readonly Operation[],
  schemas: readonly BackendSchema[],
  translator: Translator,
): void {
  for (const operation of operations) {
    for (const schema of schemas) translators.set(keyOf(clientApi, operation, schema), translator);
  }
}

export function findTranslator(clientApi: ClientApi, operation: Operation, schema: BackendSchema): Translator | undefined {
  return translators.get(keyOf(clientApi, operation, schema));
}
