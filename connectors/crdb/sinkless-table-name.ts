import { SluiceError } from '../../runtime/errors.js';

/**
 * Quotes a table name for CockroachDB SQL: `table`, `schema.table` or `database.schema.table`, each part a quoted
 * identifier (`orders` → `"orders"`, `shop.public.orders` → `"shop"."public"."orders"`), so no configured text can
 * change a statement's shape. Throws `CONFIG_INVALID` for empty parts, more than three parts or a NUL character.
 */
export function quoteTableName(name: string): string {
  const parts = name.split('.');
  if (parts.length > 3 || parts.some((part) => part.length === 0 || part.includes('\u0000'))) {
    throw new SluiceError(
      'CONFIG_INVALID',
      `expected a table name "table", "schema.table" or "database.schema.table", got ${JSON.stringify(name)}`,
    );
  }
  return parts.map((part) => `"${part.replaceAll('"', '""')}"`).join('.');
}
