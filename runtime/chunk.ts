import type { BatchTicket } from './batch-ticket.js';
import type { ChangeRecord } from './record.js';

/**
 * A source's low watermark as it travels through the graph: the source node's name and its opaque, source-ordered
 * value (see `SourceBatch.watermark`).
 */
export interface ChunkWatermark {
  /** The source node the watermark belongs to. */
  readonly source: string;
  /** The watermark's text (a CockroachDB resolved HLC, a Postgres LSN, ...). */
  readonly value: string;
}

/**
 * What flows between the engine's nodes: a run of records from one source batch, and that batch's ticket, holding
 * one piece for this chunk. The records array may be shared by several branches: never mutate it.
 *
 * A chunk is never empty, except a watermark chunk: no records and a `watermark`, which follows every chunk of its
 * source read before it along each path (operators pass it on to all their readers without running on it).
 */
export interface Chunk {
  readonly records: ChangeRecord[];
  readonly ticket: BatchTicket;
  /** Set on a watermark chunk only (then `records` is empty). */
  readonly watermark?: ChunkWatermark;
}
