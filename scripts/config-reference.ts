/**
 * `npm run docs:config`: writes docs/config-reference.md by walking the config schema (src/config/schema.ts).
 * Types, defaults and constraints come from the zod schema itself; each field's description is its
 * `.describe()` text or else the JSDoc comment above it in schema.ts. The "What each schema serves" section is
 * rendered from the translator table (src/translators/table.ts). test/docs/config-reference.test.ts fails when the
 * file is stale or a field has no description.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { ZodTypeAny } from 'zod';
import { ConfigSchema, EnvoyDuration, SecretSchema } from '../src/config/schema.js';
import { createTranslatorTable, type TranslatorTable } from '../src/translators/table.js';
import { servedOperationsSection } from './served-operations.js';

const SCHEMA_FILE = fileURLToPath(new URL('../src/config/schema.ts', import.meta.url));
export const REFERENCE_PATH = fileURLToPath(new URL('../docs/config-reference.md', import.meta.url));

/** JSDoc of every property of every z.object({...}) literal, keyed by the literal's sorted property names. */
function jsDocByObject(): Map<string, Map<string, string>> {
  const source = ts.createSourceFile(SCHEMA_FILE, readFileSync(SCHEMA_FILE, 'utf8'), ts.ScriptTarget.ES2022, true);
  const objects = new Map<string, Map<string, string>>();
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'object') {
      const literal = node.arguments[0];
      if (literal && ts.isObjectLiteralExpression(literal)) {
        const docs = new Map<string, string>();
        for (const property of literal.properties) {
          if (!ts.isPropertyAssignment(property) || !property.name) continue;
          const name = property.name.getText(source).replace(/^['"]|['"]$/g, '');
          const comments = ts.getJSDocCommentsAndTags(property).filter(ts.isJSDoc);
          const text = comments.map((doc) => ts.getTextOfJSDocComment(doc.comment) ?? '').join(' ').replace(/\s+/g, ' ').trim();
          docs.set(name, text);
        }
        objects.set([...docs.keys()].sort().join(','), docs);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return objects;
}

interface Unwrapped {
  schema: ZodTypeAny;
  optional: boolean;
  defaultValue: unknown;
  description: string | undefined;
}

/** Strips ZodDefault/ZodOptional/ZodEffects/ZodNullable, keeping what they say. */
function unwrap(schema: ZodTypeAny): Unwrapped {
  let current = schema;
  let optional = false;
  let defaultValue: unknown;
  let description = schema.description;
  for (;;) {
    const def = current._def as { typeName: string; innerType?: ZodTypeAny; schema?: ZodTypeAny; defaultValue?: () => unknown };
    if (def.typeName === 'ZodDefault' && def.innerType) {
      defaultValue = def.defaultValue?.();
      current = def.innerType;
    } else if ((def.typeName === 'ZodOptional' || def.typeName === 'ZodNullable') && def.innerType) {
      optional = true;
      current = def.innerType;
    } else if (def.typeName === 'ZodEffects' && def.schema) {
      current = def.schema;
    } else break;
    description ??= current.description;
  }
  return { schema: current, optional, defaultValue, description };
}

function typeName(schema: ZodTypeAny): string {
  return (schema._def as { typeName: string }).typeName;
}

function isSecret(schema: ZodTypeAny): boolean {
  return schema === SecretSchema;
}

function constraints(schema: ZodTypeAny): string {
  const checks = (schema._def as { checks?: { kind: string; value?: number; inclusive?: boolean; regex?: RegExp }[] }).checks ?? [];
  const parts: string[] = [];
  for (const check of checks) {
    if (check.kind === 'int') parts.push('integer');
    if (check.kind === 'min' && typeName(schema) === 'ZodNumber') parts.push(`${check.inclusive === false ? '>' : '≥'} ${check.value}`);
    if (check.kind === 'max' && typeName(schema) === 'ZodNumber') parts.push(`${check.inclusive === false ? '<' : '≤'} ${check.value}`);
    if (check.kind === 'min' && typeName(schema) === 'ZodString' && check.value !== undefined && check.value > 1) parts.push(`≥ ${check.value} chars`);
    if (check.kind === 'regex' && check.regex) parts.push(`matches ${code(check.regex.source)}`);
  }
  return parts.join(', ');
}

/** A one-cell type description; nested objects become links to their own section. */
function describeType(schema: ZodTypeAny, path: string, sections: Section[]): string {
  const { schema: inner } = unwrap(schema);
  if (isSecret(inner)) return '[secret](#secrets)';
  if (inner === EnvoyDuration) return 'duration (`"30s"`, `"0.5s"`)';
  switch (typeName(inner)) {
    case 'ZodString': {
      const extra = constraints(inner);
      return extra ? `string (${extra})` : 'string';
    }
    case 'ZodNumber': {
      const extra = constraints(inner);
      return extra.startsWith('integer') ? extra.replace(/^integer/, 'integer') : `number${extra ? ` (${extra})` : ''}`;
    }
    case 'ZodBoolean':
      return 'boolean';
    case 'ZodEnum':
      return (inner._def as { values: string[] }).values.map((value) => `\`${value}\``).join(' | ');
    case 'ZodArray': {
      const element = (inner._def as { type: ZodTypeAny }).type;
      return `list of ${describeType(element, `${path}[]`, sections)}`;
    }
    case 'ZodRecord':
      return `map of string → ${describeType((inner._def as { valueType: ZodTypeAny }).valueType, `${path}.*`, sections)}`;
    case 'ZodObject':
      sections.push({ path, schema: inner });
      return `[object](#${anchor(path)})`;
    default:
      return typeName(inner).replace(/^Zod/, '').toLowerCase();
  }
}

function anchor(path: string): string {
  return path.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

function showDefault(value: unknown): string {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && Object.keys(value).length > 0) return '*see its fields*';
  return `\`${JSON.stringify(value)}\``;
}

/** The secret forms are one union in the schema; their fields are documented here. */
const SECRET_FIELD_DOCS: Record<string, string> = {
  env: 'name of an environment variable holding the value',
  optional: 'true: an unset variable leaves the credential empty (clients bring their own key) instead of failing',
  file: 'path of a file holding the value (re-read when it changes)',
  value: 'the value itself (avoid for real credentials)',
};

/** Inline code that may itself contain backticks. */
function code(text: string): string {
  return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** Prose from comments: angle brackets would read as HTML. */
function prose(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

interface Section {
  path: string;
  schema: ZodTypeAny;
}

export interface ReferenceResult {
  markdown: string;
  /** Fields with neither .describe() nor a JSDoc comment. */
  undocumented: string[];
}

/** The reference for the shipped translator table; tests pass another table to see the section follow it. */
export function renderConfigReference(translators: TranslatorTable = createTranslatorTable()): ReferenceResult {
  const docs = jsDocByObject();
  const undocumented: string[] = [];
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/config/schema.ts by `npm run docs:config`. Do not edit. -->',
    '',
    'A config file is YAML. Unknown keys are errors; every error is reported with its path',
    '(`llm-extproc validate --config FILE`). Fields without a default and not marked optional are required.',
    '',
  ];
  const sections: Section[] = [{ path: '(top level)', schema: ConfigSchema }];
  for (let index = 0; index < sections.length; index++) {
    const section = sections[index] as Section;
    const shape = (section.schema as unknown as { shape: Record<string, ZodTypeAny> }).shape;
    const objectDocs = docs.get(Object.keys(shape).sort().join(','));
    out.push(`## <a id="${anchor(section.path)}"></a>${section.path}`, '', '| Field | Type | Default | Description |', '| --- | --- | --- | --- |');
    for (const [name, field] of Object.entries(shape)) {
      const path = section.path === '(top level)' ? name : `${section.path}.${name}`;
      const { optional, defaultValue, description } = unwrap(field);
      const text = description ?? objectDocs?.get(name) ?? '';
      if (!text) undocumented.push(path);
      const type = describeType(field, path, sections);
      const shown = defaultValue === undefined ? (optional ? '*optional*' : '*required*') : showDefault(defaultValue);
      out.push(`| \`${name}\` | ${cell(type)} | ${cell(shown)} | ${cell(prose(text))} |`);
    }
    out.push('');
  }
  out.push('## <a id="secrets"></a>Secrets', '', 'A secret is exactly one of:', '');
  for (const option of (SecretSchema._def as { options: ZodTypeAny[] }).options) {
    const shape = (option as unknown as { shape: Record<string, ZodTypeAny> }).shape;
    const objectDocs = docs.get(Object.keys(shape).sort().join(','));
    const fields = Object.entries(shape).map(([name, field]) => {
      const { optional, description } = unwrap(field);
      const text = description ?? SECRET_FIELD_DOCS[name] ?? objectDocs?.get(name) ?? '';
      if (!text) undocumented.push(`secret.${name}`);
      return `\`${name}\`${optional ? ' (optional)' : ''}: ${prose(text)}`;
    });
    out.push(`- \`{${Object.keys(shape).join(', ')}}\` — ${fields.join('; ')}`);
  }
  out.push('', ...servedOperationsSection(translators), '');
  return { markdown: out.join('\n'), undocumented };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { markdown, undocumented } = renderConfigReference();
  writeFileSync(REFERENCE_PATH, markdown);
  process.stdout.write(`wrote docs/config-reference.md\n`);
  if (undocumented.length > 0) process.stderr.write(`undocumented fields (add a /** comment */ in schema.ts):\n  ${undocumented.join('\n  ')}\n`);
}
