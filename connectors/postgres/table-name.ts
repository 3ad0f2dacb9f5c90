import { SluiceError } from '../../runtime/errors.js';
import { quoteIdentifier } from './quote-identifier.js';

/** A table's schema and name, unquoted, with its quoted SQL form. */
export class TableName {
  readonly schema: string;
  readonly table: string;
  /** `schema.table`, built once: the sink looks its table up by it for every record. */
  readonly #text: string;

  constructor(schema: string, table: string) {
    this.schema = schema;
    this.table = table;
    this.#text = `${schema}.${table}`;
  }

  /**
   * Parses `schema.table` or `table` (schema `public`). Parts may be double-quoted to hold dots or capitals:
   * `"My Schema"."order.items"`. Rejects with code `CONFIG_INVALID` when the text is not such a name.
   */
  static parse(text: string): TableName {
    const parts = splitQualified(text);
    if (parts.length === 1) return new TableName('public', parts[0]!);
    if (parts.length === 2) return new TableName(parts[0]!, parts[1]!);
    throw new SluiceError(
      'CONFIG_INVALID',
      `expected a table name as "schema.table" or "table", got ${JSON.stringify(text)}`,
    );
  }

  /** The quoted, schema-qualified name for SQL: `"public"."orders"`. */
  get sql(): string {
    return `${quoteIdentifier(this.schema)}.${quoteIdentifier(this.table)}`;
  }

  /** `schema.table`, for messages and cache keys. */
  toString(): string {
    return this.#text;
  }
}

/** Splits on dots outside double quotes; `""` inside quotes is one quote. */
function splitQualified(text: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  let wasQuoted = false;
  for (let index = 0; index < text.length; index++) {
    const char = text[index]!;
    if (quoted) {
      if (char === '"' && text[index + 1] === '"') {
        current += '"';
        index++;
      } else if (char === '"') quoted = false;
      else current += char;
    } else if (char === '"') {
      quoted = true;
      wasQuoted = true;
    } else if (char === '.') {
      parts.push(finish(current, wasQuoted, text));
      current = '';
      wasQuoted = false;
    } else current += char;
  }
  if (quoted)
    throw new SluiceError('CONFIG_INVALID', `unterminated quote in table name ${JSON.stringify(text)}`);
  parts.push(finish(current, wasQuoted, text));
  return parts;
}

/** Unquoted parts fold to lower case, as Postgres does; quoted parts are kept as written. */
function finish(part: string, wasQuoted: boolean, text: string): string {
  const name = wasQuoted ? part : part.trim().toLowerCase();
  if (name.length === 0)
    throw new SluiceError('CONFIG_INVALID', `empty part in table name ${JSON.stringify(text)}`);
  return name;
}
