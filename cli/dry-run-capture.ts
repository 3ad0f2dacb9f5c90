import type { ComponentRegistry, SinkDefinition } from '../runtime/component.js';
import { recordRow } from '../runtime/dead-letter.js';
import type { ChangeRecord, Row } from '../runtime/record.js';
import type { Sink } from '../runtime/sink.js';

/** What one sink would have received in a dry run. */
export interface CapturedSink {
  /** Records the sink would have written. */
  count: number;
  /** The first few, as change records. */
  readonly samples: Row[];
}

/**
 * For `sluice run --dry-run`: replaces every sink (and the DLQ) with one that writes nothing and remembers how many
 * records it would have received, with a few samples. Sources and operators run for real; their settings are
 * validated as usual because sink definitions keep their schemas.
 */
export class DryRunCapture {
  readonly #samplesPerSink: number;
  /** Per sink node: what it would have received. */
  readonly sinks = new Map<string, CapturedSink>();

  constructor(samplesPerSink: number) {
    this.#samplesPerSink = samplesPerSink;
  }

  /** The registry with every sink type's `create` returning a capturing sink. */
  wrap(registry: ComponentRegistry): ComponentRegistry {
    const sinks = new Map<string, SinkDefinition>();
    for (const [type, definition] of registry.sinks) {
      sinks.set(type, { ...definition, create: (_options, context) => this.#sinkFor(context.node) });
    }
    return { ...registry, sinks };
  }

  #sinkFor(node: string): Sink {
    const captured: CapturedSink = { count: 0, samples: [] };
    this.sinks.set(node, captured);
    return {
      connect: async () => undefined,
      write: async (records: readonly ChangeRecord[]) => {
        captured.count += records.length;
        for (const record of records) {
          if (captured.samples.length >= this.#samplesPerSink) break;
          captured.samples.push(recordRow(record));
        }
      },
      close: async () => undefined,
    };
  }
}
