/** Variants of the shipped translator table for tests of what happens when an entry is missing. */
import type { BackendSchema } from '../../src/config/schema.js';
import type { TranslatorTable } from '../../src/translators/table.js';

/** A copy of the table without the OpenAI chat translator for one schema (the table itself is untouched). */
export function withoutChatTranslator(table: TranslatorTable, schema: BackendSchema): TranslatorTable {
  const chat = { ...table.openai.chat };
  delete chat[schema];
  return { ...table, openai: { ...table.openai, chat } };
}
