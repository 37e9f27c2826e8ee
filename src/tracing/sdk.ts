/**
 * The OpenTelemetry SDK, loaded only when tracing is on (src/service.ts imports this module dynamically): a
 * tracer provider that is never registered as the global one, the OTLP/HTTP exporter (protobuf by default, JSON
 * when OTEL_EXPORTER_OTLP_PROTOCOL says so) behind a batch processor, and the W3C trace-context propagator. The
 * SDK and the exporter read the rest of the standard variables themselves: OTEL_EXPORTER_OTLP_*ENDPOINT and
 * *HEADERS, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*, span limits.
 */
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createTracing } from './request-span.js';
import type { OtlpProtocol } from './env.js';
import type { SpanSettings, Tracing } from './types.js';

export type ExporterChoice =
  | { readonly exporter: 'otlp'; readonly protocol: OtlpProtocol }
  | { readonly exporter: 'console' }
  /** Tests: every span exported as it ends, to this exporter (an InMemorySpanExporter). */
  | { readonly exporter: 'given'; readonly spanExporter: SpanExporter };

export interface TracingSdkOptions {
  readonly choice: ExporterChoice;
  readonly serviceVersion: string;
  readonly overrides?: Partial<SpanSettings>;
}

async function otlpExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  if (protocol === 'http/json') {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    return new OTLPTraceExporter();
  }
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-proto');
  return new OTLPTraceExporter();
}

async function spanProcessor(choice: ExporterChoice): Promise<SpanProcessor> {
  switch (choice.exporter) {
    case 'given':
      return new SimpleSpanProcessor(choice.spanExporter);
    case 'console':
      return new SimpleSpanProcessor(new ConsoleSpanExporter());
    case 'otlp':
      return new BatchSpanProcessor(await otlpExporter(choice.protocol));
  }
}

export async function startTracingSdk(options: TracingSdkOptions): Promise<Tracing> {
  // Ours first, then what the environment says (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) wins.
  const resource = defaultResource()
    .merge(resourceFromAttributes({ 'service.name': 'llm-extproc', 'service.version': options.serviceVersion }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: [await spanProcessor(options.choice)] });
  const tracer = provider.getTracer('llm-extproc', options.serviceVersion);
  return createTracing(tracer, new W3CTraceContextPropagator(), () => provider.shutdown(), options.overrides);
}
