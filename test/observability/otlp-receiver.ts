import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

/**
 * The parts of the OTLP trace protocol (opentelemetry/proto/collector/trace/v1/trace_service.proto and the common,
 * resource and trace protos it imports) the tests read, with the upstream field numbers: a decoder ignores the
 * fields left out.
 */
const OTLP_TRACE_PROTO = `
syntax = "proto3";
package otlp;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
message InstrumentationScope { string name = 1; string version = 2; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  repeated Link links = 13;
  Status status = 15;
}
message Link { bytes trace_id = 1; bytes span_id = 2; }
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
  }
}
`;

const Request = protobuf.parse(OTLP_TRACE_PROTO).root.lookupType('otlp.ExportTraceServiceRequest');

/** A span as the collector received it, ids in hex. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** Empty for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
  readonly links: readonly { readonly traceId: string; readonly spanId: string }[];
  /** 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly resource: Readonly<Record<string, string | number | boolean>>;
}

interface DecodedValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}

function attributesOf(
  list: readonly { key: string; value?: DecodedValue }[] | undefined,
): Record<string, string | number | boolean> {
  const attributes: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (value === undefined) continue;
    const found = value.stringValue ?? value.boolValue ?? value.doubleValue ?? value.intValue;
    if (found !== undefined)
      attributes[key] = typeof found === 'string' && value.intValue !== undefined ? Number(found) : found;
  }
  return attributes;
}

const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? new Uint8Array()).toString('hex');

/** A local OTLP/HTTP traces endpoint that decodes every protobuf export it receives. */
export interface OtlpReceiver {
  /** The traces URL: `http://127.0.0.1:PORT/v1/traces`. */
  readonly url: string;
  /** Every span received so far. */
  readonly spans: ReceivedSpan[];
  /** Export requests received (each answered 200). */
  requests: number;
  /** Resolves once `predicate` holds for the received spans, or rejects after `timeoutMs`. */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts an OTLP/HTTP receiver on a free local port. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.url !== '/v1/traces' || request.headers['content-type'] !== 'application/x-protobuf') {
        response.writeHead(404).end();
        return;
      }
      receiver.requests++;
      const decoded = Request.toObject(Request.decode(Buffer.concat(chunks)), {
        longs: String,
        defaults: false,
      }) as {
        resourceSpans?: {
          resource?: { attributes?: { key: string; value?: DecodedValue }[] };
          scopeSpans?: {
            spans?: {
              traceId?: Uint8Array;
              spanId?: Uint8Array;
              parentSpanId?: Uint8Array;
              name: string;
              kind?: number;
              attributes?: { key: string; value?: DecodedValue }[];
              links?: { traceId?: Uint8Array; spanId?: Uint8Array }[];
              status?: { code?: number };
            }[];
          }[];
        }[];
      };
      for (const resourceSpans of decoded.resourceSpans ?? []) {
        const resource = attributesOf(resourceSpans.resource?.attributes);
        for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
          for (const span of scopeSpans.spans ?? []) {
            spans.push({
              traceId: hex(span.traceId),
              spanId: hex(span.spanId),
              parentSpanId: hex(span.parentSpanId),
              name: span.name,
              kind: span.kind ?? 0,
              attributes: attributesOf(span.attributes),
              links: (span.links ?? []).map((link) => ({
                traceId: hex(link.traceId),
                spanId: hex(link.spanId),
              })),
              statusCode: span.status?.code ?? 0,
              resource,
            });
          }
        }
      }
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: OtlpReceiver = {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spans,
    requests: 0,
    async waitFor(predicate, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(spans)) {
        if (Date.now() > deadline)
          throw new Error(
            `OTLP receiver: condition not met within ${timeoutMs} ms (${spans.length} spans received)`,
          );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return receiver;
}
