import type { ChangeRecord, Row } from '../../../runtime/record.js';

/** A change record for expression tests: an update of `orders` with the given after (and before) rows. */
export function orderChange(after: Row | null, before: Row | null = null): ChangeRecord {
  return {
    op: 'update',
    key: { id: 7 },
    before,
    after,
    source: { name: 'orders_src', position: 'orders/0@42', table: 'public.orders', partition: 0 },
    sourceTimeMs: 1_714_557_600_000,
    ingestTimeMs: 1_714_557_601_000,
    headers: { traceparent: '00-abc-def-01' },
  };
}
