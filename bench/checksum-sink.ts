import { Type } from '@sinclair/typebox';
import { defineSink } from '../runtime/component.js';
import type { ComponentRegistry } from '../runtime/component.js';
import type { ChangeRecord } from '../runtime/record.js';
import { Checksum } from './checksum.js';
import { LatencySampler } from './latency-sampler.js';
import { ORDER_FIELDS, rowIdentity } from './record-identity.js';

/** What the bench's checksum sinks saw, per sink node, in this process. */
export const CHECKSUM_SINKS = new Map<string, { checksum: Checksum; latency: LatencySampler }>();

/**
 * A sink for benchmarks: checksums each record's `after` row (the `fields` given, see `rowIdentity`) and samples its end-to-end
 * latency from ingest to write. Costs what the ceiling loop costs for the same record, so ratios compare the
 * pipelines, not the checksums.
 */
export const checksumSink = defineSink({
  type: 'bench_checksum',
  summary: 'Benchmark sink: checksums rows and samples latency.',
  schema: Type.Object({ fields: Type.Optional(Type.Array(Type.String(), { minItems: 1 })) }),
  create: (options, context) => {
    const fields = options.fields ?? ORDER_FIELDS;
    const state = { checksum: new Checksum(), latency: new LatencySampler() };
    CHECKSUM_SINKS.set(context.node, state);
    return {
      connect: async () => undefined,
      write: async (records: readonly ChangeRecord[]) => {
        const now = Date.now();
        for (const record of records) {
          if (record.after) state.checksum.add(rowIdentity(record.after, fields));
          state.latency.add(now - record.ingestTimeMs);
        }
      },
      close: async () => undefined,
    };
  },
});

/** `registry` plus the benchmark sink. */
export function withChecksumSink(registry: ComponentRegistry): ComponentRegistry {
  return { ...registry, sinks: new Map([...registry.sinks, [checksumSink.type, checksumSink]]) };
}
