/**
 * An in-memory span exporter that tells when spans arrive: tests wait for the span they expect (an event, not a
 * poll), then read its name, attributes, events and links.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ExportResult } from '@opentelemetry/core';

export class SpanCollector extends InMemorySpanExporter {
  private waiters: Array<{ match: (span: ReadableSpan) => boolean; resolve: (span: ReadableSpan) => void }> = [];

  override export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    super.export(spans, resultCallback);
    for (const span of spans) {
      for (const waiter of [...this.waiters]) {
        if (!waiter.match(span)) continue;
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(span);
      }
    }
  }

  /** The first finished span that matches, already exported or still to come. */
  waitFor(match: (span: ReadableSpan) => boolean): Promise<ReadableSpan> {
    const seen = this.getFinishedSpans().find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Finished spans of one trace. */
  trace(traceId: string): ReadableSpan[] {
    return this.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
  }
}

/** The parent span id of a span (SDK 2: parentSpanContext). */
export function parentSpanId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}
