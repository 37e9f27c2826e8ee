/** What the end-to-end suites share: metadata namespace, config sections, test inputs and record lookup. */
import assert from 'node:assert/strict';
import type OpenAI from 'openai';
import type { RequestRecord } from '../envoy/types.js';
import type { Gateway } from './gateway-harness.js';

/** The dynamic-metadata namespace token usage is written under (Envoy AI Gateway's). */
export const NS = 'io.envoy.ai_gateway';

/** A 1x1 PNG as a base64 data URL. */
export const PNG_DATA_URL = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** The config's `costs` section (top level): input, output and total tokens as metadata keys llm_*_token. */
export const TOKEN_COSTS_YAML = `costs:
  - { metadataKey: llm_input_token, type: InputToken }
  - { metadataKey: llm_output_token, type: OutputToken }
  - { metadataKey: llm_total_token, type: TotalToken }`;

/** A tool whose mock answers call it with `{city: "Paris", unit: "c"}`. */
export const WEATHER_TOOL: OpenAI.ChatCompletionFunctionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } }, required: ['city', 'unit'] },
  },
};

/** The stand-in's record of the last downstream request, once every exchange in flight has finished. */
export async function lastRecord(gateway: Gateway): Promise<RequestRecord> {
  await gateway.envoy.settled();
  const record = gateway.envoy.requests.at(-1);
  assert.ok(record);
  return record;
}
