import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import type { BuildContext, ConfigIssue, OperatorDefinition } from '../../runtime/component.js';
import type { OperatorResult } from '../../runtime/operator.js';
import type { ChangeRecord, Operation, Row } from '../../runtime/record.js';

/** Where the test operator modules live: the config directory the tests build nodes with. */
export const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/operators');

/** A change record as a source would make it: an insert of `after` from source `orders` at position `orders:<n>`. */
export function record(
  after: Row | null,
  options: { op?: Operation; before?: Row | null; key?: Row | null; position?: number; table?: string } = {},
): ChangeRecord {
  const position = options.position ?? 1;
  return {
    op: options.op ?? (after === null ? 'delete' : 'insert'),
    key: options.key ?? null,
    before: options.before ?? null,
    after,
    source: {
      name: 'orders',
      position: `orders:${position}`,
      ...(options.table === undefined ? {} : { table: options.table }),
    },
    sourceTimeMs: null,
    ingestTimeMs: 0,
    headers: {},
  };
}

/** Records of `rows`, positions 1, 2, ... */
export function records(rows: Row[]): ChangeRecord[] {
  return rows.map((after, index) => record(after, { position: index + 1 }));
}

/** A build context whose logger keeps its lines for assertions. */
export function buildContext(node: string): BuildContext & { lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info', base: undefined },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { pipeline: 'test', node, configDir: FIXTURES, logger, lines };
}

/** Runs `check` (expecting no issues) and `create`, as the engine does. */
export async function build<T>(
  definition: OperatorDefinition,
  config: unknown,
  node = 'node',
): Promise<T & { lines: Record<string, unknown>[] }> {
  const context = buildContext(node);
  const issues = await check(definition, config);
  if (issues.length > 0) throw new Error(`unexpected config issues: ${JSON.stringify(issues)}`);
  const operator = (await definition.create(config, context)) as T;
  return Object.assign(operator as object, { lines: context.lines }) as T & {
    lines: Record<string, unknown>[];
  };
}

/** The config issues `check` reports. */
export async function check(definition: OperatorDefinition, config: unknown): Promise<ConfigIssue[]> {
  return (await definition.check?.(config, { configDir: FIXTURES })) ?? [];
}

/** The `after.id` of each record, for compact assertions. */
export function ids(result: OperatorResult | ChangeRecord[]): unknown[] {
  const list = Array.isArray(result) ? result : result.records;
  return list.map((item) => item.after?.id ?? item.before?.id ?? item.key?.id);
}
