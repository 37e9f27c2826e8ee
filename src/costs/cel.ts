/**
 * CEL cost expressions (type `CEL`), evaluated with @marcbachmann/cel-js.
 *
 * Variables: `model`, `backend` (string); `input_tokens`, `cached_input_tokens`, `cache_creation_input_tokens`,
 * `output_tokens`, `reasoning_tokens`, `total_tokens` (int). They are declared `int`, not `uint` as in Envoy AI
 * Gateway, so `input_tokens * 2` type-checks without `u` suffixes; `uint(...)` conversions still work.
 * The result must be int, uint or double. At run time a negative result becomes 0 and a non-integer result is
 * rounded DOWN (floor, like Envoy's own truncation of `hits_addend`), and a result above the ceiling
 * (limits.maxTokenCount) becomes the ceiling, so a formula never turns into a `1e308` `hits_addend`; each is reported
 * through the clamp listener.
 * A run-time evaluation error (division by zero, overflow) charges 0 and is reported as `error`.
 *
 * @see https://github.com/google/cel-spec
 */
import { createRequire } from 'node:module';
import type { Environment } from '@marcbachmann/cel-js';
import type { UnsignedInt } from '@marcbachmann/cel-js/evaluator';

export const CEL_STRING_VARIABLES = ['model', 'backend'] as const;
export const CEL_INT_VARIABLES = [
  'input_tokens',
  'cached_input_tokens',
  'cache_creation_input_tokens',
  'output_tokens',
  'reasoning_tokens',
  'total_tokens',
] as const;

export type CelIntVariable = (typeof CEL_INT_VARIABLES)[number];

/** The values a cost expression sees. Token counts are plain non-negative numbers here. */
export type CelVariables = { readonly model: string; readonly backend: string } & Readonly<Record<CelIntVariable, number>>;

/** Why a cost value was adjusted. */
export type ClampReason = 'negative' | 'non_integer' | 'error' | 'too_large';

/** Receives every adjusted cost; the server passes one that counts `llm_extproc_cost_clamped_total{metadata_key}`. */
export type CostClampListener = (metadataKey: string, reason: ClampReason) => void;

/** Reports one clamp to the listener; a throwing listener never breaks charging. */
function reportClamp(listener: CostClampListener | undefined, metadataKey: string, reason: ClampReason): void {
  try {
    listener?.(metadataKey, reason);
  } catch {
    // metrics must never break the request path
  }
}

type Program = ReturnType<Environment['parse']>;

export interface CompiledCel {
  readonly expression: string;
  readonly program: Program;
}

export type CompileResult = { ok: true; compiled: CompiledCel } | { ok: false; error: string };

/** Built on the first compile (no work at import time; configs without CEL costs never build it). */
let environment: Environment | undefined;
const compiledByExpression = new Map<string, CompileResult>();

/**
 * The CEL library, required on the first compile: its ~13 modules cost ~30 ms of start-up, which a config without
 * CEL costs never needs. It is an ES module; Node 20.19+ requires those synchronously (no top-level await in it).
 */
let cel: { Environment: typeof Environment; UnsignedInt: typeof UnsignedInt } | undefined;
function loadCel(): NonNullable<typeof cel> {
  if (cel) return cel;
  const require = createRequire(import.meta.url);
  const { Environment } = require('@marcbachmann/cel-js') as typeof import('@marcbachmann/cel-js');
  const { UnsignedInt } = require('@marcbachmann/cel-js/evaluator') as typeof import('@marcbachmann/cel-js/evaluator');
  cel = { Environment, UnsignedInt };
  return cel;
}

function createEnvironment(): Environment {
  let env = new (loadCel().Environment)();
  for (const name of CEL_STRING_VARIABLES) env = env.registerVariable(name, 'string');
  for (const name of CEL_INT_VARIABLES) env = env.registerVariable(name, 'int');
  return env;
}

const NUMERIC_TYPES = new Set(['int', 'uint', 'double', 'dyn']);

/** Sample usages every expression must evaluate on at load time: a typical request and an all-zero one (error paths). */
const SAMPLES: readonly CelVariables[] = [
  {
    model: 'sample-model',
    backend: 'sample-backend',
    input_tokens: 1000,
    cached_input_tokens: 200,
    cache_creation_input_tokens: 100,
    output_tokens: 500,
    reasoning_tokens: 50,
    total_tokens: 1500,
  },
  {
    model: 'sample-model',
    backend: 'sample-backend',
    input_tokens: 0,
    cached_input_tokens: 0,
    cache_creation_input_tokens: 0,
    output_tokens: 0,
    reasoning_tokens: 0,
    total_tokens: 0,
  },
];

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/**
 * Parses, type-checks and smoke-evaluates an expression. Results are cached per expression string, so the
 * config-load validation compiles each expression once and the request path only looks it up.
 */
export function compileCel(expression: string): CompileResult {
  const cached = compiledByExpression.get(expression);
  if (cached) return cached;
  const result = compileUncached(expression);
  compiledByExpression.set(expression, result);
  return result;
}

function compileUncached(expression: string): CompileResult {
  environment ??= createEnvironment();
  const checked = environment.check(expression);
  if (!checked.valid) return { ok: false, error: firstLine(checked.error) };
  if (!NUMERIC_TYPES.has(String(checked.type))) {
    return { ok: false, error: `must evaluate to a number (int, uint or double), got ${String(checked.type)}` };
  }
  let program: Program;
  try {
    program = environment.parse(expression);
  } catch (error) {
    return { ok: false, error: firstLine(error) };
  }
  for (const [index, sample] of SAMPLES.entries()) {
    const outcome = runProgram(program, sample);
    if (!outcome.ok) {
      const which = index === 0 ? 'sample usage' : 'all-zero usage (as on error responses)';
      return { ok: false, error: `fails on ${which}: ${outcome.error}` };
    }
  }
  return { ok: true, compiled: { expression, program } };
}

type RawOutcome = { ok: true; value: number } | { ok: false; error: string };

function runProgram(program: Program, variables: CelVariables): RawOutcome {
  const context: Record<string, string | bigint> = { model: variables.model, backend: variables.backend };
  for (const name of CEL_INT_VARIABLES) context[name] = BigInt(Math.max(0, Math.floor(variables[name])));
  let result: unknown;
  try {
    result = program(context);
  } catch (error) {
    return { ok: false, error: firstLine(error) };
  }
  if (typeof result === 'bigint') return { ok: true, value: Number(result) };
  if (typeof result === 'number' && Number.isFinite(result)) return { ok: true, value: result };
  if (result instanceof loadCel().UnsignedInt) return { ok: true, value: Number(result.valueOf()) };
  return { ok: false, error: `result is not a number (${typeof result})` };
}

/**
 * Evaluates a compiled expression to a non-negative integer. Adjustments (negative -> 0, fraction -> floor,
 * run-time error -> 0) are reported to `onClamp` under `metadataKey`.
 */
export function evaluateCel(
  compiled: CompiledCel,
  variables: CelVariables,
  metadataKey: string,
  onClamp?: CostClampListener,
  ceiling?: number,
): number {
  const outcome = runProgram(compiled.program, variables);
  if (!outcome.ok) {
    reportClamp(onClamp, metadataKey, 'error');
    return 0;
  }
  return clampCost(outcome.value, metadataKey, onClamp, ceiling);
}

/** Non-negative integer no larger than `ceiling` (when given), reporting any adjustment to `onClamp`. */
export function clampCost(value: number, metadataKey: string, onClamp?: CostClampListener, ceiling = Number.MAX_SAFE_INTEGER): number {
  if (Number.isNaN(value) || value < 0) {
    reportClamp(onClamp, metadataKey, 'negative');
    return 0;
  }
  if (value > ceiling) {
    reportClamp(onClamp, metadataKey, 'too_large');
    return Math.floor(ceiling);
  }
  if (!Number.isInteger(value)) {
    reportClamp(onClamp, metadataKey, 'non_integer');
    return Math.floor(value);
  }
  return value;
}
