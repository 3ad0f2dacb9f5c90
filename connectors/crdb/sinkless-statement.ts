import { SluiceError } from '../../runtime/errors.js';
import type { Hlc } from './hlc.js';
import { quoteTableName } from './sinkless-table-name.js';

/** What a sinkless changefeed statement is built from. */
export interface SinklessStatementOptions {
  /** Tables to watch, each `table`, `schema.table` or `database.schema.table` (every part is quoted). */
  readonly tables: readonly string[];
  /** `WITH envelope = '...'`. */
  readonly envelope: 'wrapped' | 'bare' | 'key_only' | 'row' | 'enriched';
  /** `resolved = '<interval>'` in milliseconds; 0 for a bare `resolved` (CockroachDB's own cadence). */
  readonly resolvedMs: number;
  /** Adds `updated` (each change carries its commit HLC). */
  readonly updated: boolean;
  /** Adds `diff` (updates and deletes carry the row before). */
  readonly diff: boolean;
  /** Further options: `true` adds the bare name, `false` leaves it out, text or a number becomes a quoted value. */
  readonly options: Readonly<Record<string, string | number | boolean>>;
  /** Resumes after this resolved timestamp (`cursor = '<hlc>'`). */
  readonly cursor?: Hlc;
}

/** Options the source sets itself; `options` may not name them. */
export const SINKLESS_RESERVED_OPTIONS: readonly string[] = [
  'envelope',
  'format',
  'resolved',
  'cursor',
  'updated',
  'diff',
];

const OPTION_NAME = /^[a-z][a-z0-9_]*$/;

/**
 * Builds `CREATE CHANGEFEED FOR TABLE ... WITH ...` (no `INTO`: a sinkless feed streamed on the connection). Every
 * table name part is a quoted identifier and every option value a quoted string literal, so no configured text can
 * change the statement's shape. `format = 'json'` is always set: the decoder reads JSON. Throws `CONFIG_INVALID`
 * for an option name that is not a plain word or that the source sets itself.
 */
export function sinklessStatement(options: SinklessStatementOptions): string {
  if (options.tables.length === 0)
    throw new SluiceError('CONFIG_INVALID', 'expected at least one table to watch, got none');
  const tables = options.tables.map(quoteTableName).join(', ');
  const settings = [`envelope = ${quoteLiteral(options.envelope)}`, `format = 'json'`];
  if (options.updated) settings.push('updated');
  if (options.diff) settings.push('diff');
  settings.push(
    options.resolvedMs > 0 ? `resolved = ${quoteLiteral(interval(options.resolvedMs))}` : 'resolved',
  );
  for (const [name, value] of Object.entries(options.options)) {
    if (!OPTION_NAME.test(name)) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `expected changefeed option names of lower-case letters, digits and _, got ${JSON.stringify(name)}`,
      );
    }
    if (SINKLESS_RESERVED_OPTIONS.includes(name)) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `the changefeed option "${name}" is set by the source itself; use its own setting instead of options.${name}`,
      );
    }
    if (value === true) settings.push(name);
    else if (value !== false) settings.push(`${name} = ${quoteLiteral(String(value))}`);
  }
  if (options.cursor !== undefined) settings.push(`cursor = ${quoteLiteral(options.cursor.toString())}`);
  return `CREATE CHANGEFEED FOR TABLE ${tables} WITH ${settings.join(', ')}`;
}

function quoteLiteral(text: string): string {
  if (text.includes('\u0000'))
    throw new SluiceError(
      'CONFIG_INVALID',
      `a changefeed option value cannot hold a NUL character: ${JSON.stringify(text)}`,
    );
  return `'${text.replaceAll("'", "''")}'`;
}

function interval(ms: number): string {
  return ms % 1_000 === 0 ? `${ms / 1_000}s` : `${ms}ms`;
}
