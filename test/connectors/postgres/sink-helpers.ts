import pino from 'pino';
import { PostgresSink } from '../../../connectors/postgres/sink.js';
import type { PostgresSinkConfig } from '../../../connectors/postgres/sink-config.js';
import type { ChangeRecord, Operation, Row } from '../../../runtime/record.js';

/** A change record as a CDC source would emit it. */
export function change(
  op: Operation,
  key: Row | null,
  after: Row | null,
  source: Record<string, unknown> = {},
  position = '0',
): ChangeRecord {
  return {
    op,
    key,
    before: null,
    after,
    source: { name: 'test-source', position, ...(source as Row) },
    sourceTimeMs: 1_747_243_394_200,
    ingestTimeMs: 1_747_243_394_300,
    headers: {},
  };
}

/** A connected sink (the caller closes it). */
export async function connectedSink(
  config: PostgresSinkConfig,
  options: { copyThreshold?: number; logger?: pino.Logger } = {},
): Promise<PostgresSink> {
  const sink = new PostgresSink(
    config,
    options.copyThreshold === undefined ? {} : { copyThreshold: options.copyThreshold },
  );
  await sink.connect({
    pipeline: 'test',
    name: 'warehouse',
    logger: options.logger ?? pino({ level: 'silent' }),
  });
  return sink;
}
