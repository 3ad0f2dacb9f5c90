import type { PipelineSummary } from '../runtime/pipeline-summary.js';

/** A number with thousands separators. */
function count(value: number): string {
  return value.toLocaleString('en-US');
}

/**
 * The end-of-run summary printed by `sluice run`: one row per node with records read, passed, filtered, sent to
 * the dead-letter queue and written, then totals and throughput.
 */
export function formatSummary(summary: PipelineSummary): string {
  const header = ['node', 'kind', 'read', 'in', 'passed', 'filtered', 'dead-lettered', 'written'];
  const rows: string[][] = [];
  for (const [name, counters] of Object.entries(summary.sources)) {
    rows.push([name, 'source', count(counters.read), '', '', '', count(counters.rejected), '']);
  }
  for (const [name, counters] of Object.entries(summary.operators)) {
    const branches = Object.values(counters.branches).reduce((sum, value) => sum + value, 0);
    rows.push([
      name,
      'operator',
      '',
      count(counters.in),
      count(counters.out + branches),
      count(counters.filtered),
      count(counters.deadLettered),
      '',
    ]);
  }
  for (const [name, counters] of Object.entries(summary.sinks)) {
    rows.push([name, 'sink', '', '', '', '', count(counters.rejected), count(counters.written)]);
  }
  if (summary.dlq) rows.push([summary.dlq.name, 'dlq', '', '', '', '', '', count(summary.dlq.written)]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) =>
    cells.map((cell, column) => (column < 2 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ');
  const read = Object.values(summary.sources).reduce((sum, counters) => sum + counters.read, 0);
  const written = Object.values(summary.sinks).reduce((sum, counters) => sum + counters.written, 0);
  return [
    `pipeline ${summary.pipeline}`,
    line(header),
    ...rows.map(line),
    `read ${count(read)} records, wrote ${count(written)}, dead-lettered ${count(summary.dlq?.written ?? 0)} ` +
      `in ${summary.elapsedSeconds.toFixed(2)} s (${count(Math.round(summary.recordsPerSecond))} records/s)`,
  ].join('\n');
}
