// The bench's baseline: a no-op ext_proc server written the standard way (@grpc/proto-loader + @grpc/grpc-js, the
// same versions and the same proto/ files as the service). Every ProcessingRequest gets an empty CONTINUE of the
// matching kind. Plain JavaScript so it runs under plain `node`, as the built service does.
//
//   node bench/noop-ext-proc.mjs --listen 127.0.0.1:PORT
//
// Prints "listening <port>" once bound; exits on SIGTERM/SIGINT.
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

const PROTO_DIR = fileURLToPath(new URL('../proto/', import.meta.url));

/** ProcessingRequest oneof case -> the empty answer Envoy expects for it. */
const ANSWERS = {
  request_headers: { request_headers: {} },
  response_headers: { response_headers: {} },
  request_body: { request_body: {} },
  response_body: { response_body: {} },
  request_trailers: { request_trailers: {} },
  response_trailers: { response_trailers: {} },
};

function answerEveryMessage(call) {
  call.on('data', (message) => {
    const answer = ANSWERS[message.request];
    if (answer) call.write(answer);
  });
  call.on('end', () => call.end());
  call.on('error', () => {});
}

function main() {
  const { values } = parseArgs({ options: { listen: { type: 'string', default: '127.0.0.1:0' } } });
  const definition = protoLoader.loadSync('envoy/service/ext_proc/v3/external_processor.proto', {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    includeDirs: [PROTO_DIR],
  });
  const loaded = grpc.loadPackageDefinition(definition);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService(loaded.envoy.service.ext_proc.v3.ExternalProcessor.service, { Process: answerEveryMessage });
  server.bindAsync(values.listen, grpc.ServerCredentials.createInsecure(), (error, port) => {
    if (error) {
      process.stderr.write(`noop-ext-proc: ${error.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`listening ${port}\n`);
  });
  const stop = () => {
    server.forceShutdown();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main();
