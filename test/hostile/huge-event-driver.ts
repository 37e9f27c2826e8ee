/**
 * Plays one streaming chat exchange to an llm-extproc service over ext_proc, as Envoy does (request headers, body, a
 * streaming 200, then the answer in 1 MiB STREAMED chunks, pipelined), where the answer is one `data:` event of
 * BYTES bytes of prose, a finish chunk and [DONE]. Run as its own process by event-loop.test.ts, so that sending
 * 50 MB costs neither the service nor the test process that measures it:
 *
 *   node --import tsx test/hostile/huge-event-driver.ts <grpc address> <bytes>
 *
 * It sets everything up (connection, request phase, the answer's chunks), prints `{"ready":true}`, waits for a line
 * on stdin, sends the chunks, then prints one JSON line: the bytes the client would get (length, whether the limit's
 * error event or [DONE] is in it).
 */
import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ProcessingResponse } from '../../src/server/ext-proc-types.js';
import { connectExtProc, ExtProcTestStream, headerMap } from '../helpers/ext-proc-client.js';

const MiB = 1024 * 1024;
const PROSE = 'The committee reviewed the quarterly budget and approved the revised plan. ';

function answerChunks(bytes: number): Buffer[] {
  const content = PROSE.repeat(Math.ceil(bytes / PROSE.length)).slice(0, bytes);
  const event = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-test', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  const stream = Buffer.from(event({ role: 'assistant', content }, null) + event({}, 'stop') + 'data: [DONE]\n\n');
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < stream.length; offset += MiB) chunks.push(stream.subarray(offset, offset + MiB));
  return chunks;
}

/** What Envoy sends downstream for one streamed chunk: the replacement body, nothing, or the chunk unchanged. */
function clientBytes(answer: ProcessingResponse, chunk: Buffer): Buffer {
  const mutation = answer.response_body?.response?.body_mutation;
  if (mutation?.clear_body) return Buffer.alloc(0);
  if (mutation?.body !== undefined) return Buffer.from(mutation.body);
  return chunk;
}

async function main(address: string, bytes: number): Promise<void> {
  const client = connectExtProc(address);
  const stream = new ExtProcTestStream(client);
  const headers = headerMap({ ':authority': 'gw', ':path': '/v1/chat/completions', ':method': 'POST', ':scheme': 'http', 'content-type': 'application/json' });
  await stream.send({ request_headers: { headers, end_of_stream: false } });
  await stream.send({ request_body: { body: Buffer.from(JSON.stringify({ model: 'gpt-test', stream: true, messages: [{ role: 'user', content: 'hi' }] })), end_of_stream: true } });
  const switched = await stream.send({ response_headers: { headers: headerMap({ ':status': '200', 'content-type': 'text/event-stream' }), end_of_stream: false } });
  if (switched.mode_override?.response_body_mode !== 'STREAMED') throw new Error('the service did not switch the response body to STREAMED');
  const chunks = answerChunks(bytes);
  process.stdout.write('{"ready":true}\n');
  await once(process.stdin, 'data');
  const answers: Array<Promise<ProcessingResponse>> = [];
  for (const [index, chunk] of chunks.entries()) {
    // Pipelined like Envoy, one chunk per turn of this process's event loop (as they would arrive off the network).
    answers.push(stream.send({ response_body: { body: chunk, end_of_stream: index === chunks.length - 1 } }));
    await nextTurn();
  }
  const text = Buffer.concat((await Promise.all(answers)).map((answer, index) => clientBytes(answer, chunks[index] as Buffer))).toString('utf8');
  stream.close();
  await stream.done;
  client.close();
  process.stdin.destroy();
  process.stdout.write(`${JSON.stringify({ length: text.length, tooLarge: text.includes('"code":"upstream_event_too_large"'), done: text.endsWith('data: [DONE]\n\n') })}\n`);
}

const [address, bytes] = process.argv.slice(2);
if (!address || !bytes) throw new Error('usage: huge-event-driver.ts <grpc address> <bytes>');
await main(address, Number(bytes));
