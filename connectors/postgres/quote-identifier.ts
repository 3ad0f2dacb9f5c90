/**
 * Quotes a Postgres identifier (schema, table or column name) so that any text, however strange, names exactly
 * that object: `x"; DROP TABLE t; --` becomes `"x""; DROP TABLE t; --"`. Every identifier Sluice puts into SQL
 * goes through here; values always travel as parameters.
 */
export function quoteIdentifier(name: string): string {
  if (name.length === 0) throw new TypeError('an SQL identifier cannot be empty');
  if (name.includes('\u0000'))
    throw new TypeError(`an SQL identifier cannot hold a NUL character: ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}
