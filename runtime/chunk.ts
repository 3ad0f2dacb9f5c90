import type { BatchTicket } from './batch-ticket.js';
import type { ChangeRecord } from './record.js';

/**
 * What flows between the engine's nodes: a run of records (never empty) from one source batch, and that batch's
 * ticket, holding one piece for this chunk. The records array may be shared by several branches: never mutate it.
 */
export interface Chunk {
  readonly records: ChangeRecord[];
  readonly ticket: BatchTicket;
}
