import { Decimal } from '../../runtime/decimal.js';
import { parseJson, parseNumberText } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';

/** The types a CSV column may be declared with. */
export type CsvColumnType = 'string' | 'number' | 'integer' | 'decimal' | 'boolean' | 'json';

/** Every CSV column type, in a fixed order (for the schema). */
export const CSV_COLUMN_TYPES: readonly CsvColumnType[] = ['string', 'number', 'integer', 'decimal', 'boolean', 'json'];

const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const TRUE = new Set(['true', 'TRUE', 'True', '1']);
const FALSE = new Set(['false', 'FALSE', 'False', '0']);

/**
 * The value of one CSV field of the given type. An empty field is `null` whatever the type; `integer` gives a
 * `number` or, beyond 2^53, a `bigint`; `decimal` keeps the digits exactly (`26.30`); `boolean` accepts
 * true/false (any of three casings) and 1/0; `json` parses losslessly. Throws a `TypeError` naming what was expected.
 */
export function csvFieldValue(text: string, type: CsvColumnType): Value {
  if (text === '') return null;
  switch (type) {
    case 'string':
      return text;
    case 'number': {
      const number = Number(text);
      if (text.trim() === '' || !Number.isFinite(number)) throw new TypeError(`expected a number, found ${JSON.stringify(text)}`);
      return number;
    }
    case 'integer':
      if (!INTEGER.test(text)) throw new TypeError(`expected an integer, found ${JSON.stringify(text)}`);
      return parseNumberText(text.replace(/^(-?)0+(?=\d)/, '$1'));
    case 'decimal':
      if (!DECIMAL.test(text)) throw new TypeError(`expected a decimal number, found ${JSON.stringify(text)}`);
      return new Decimal(text);
    case 'boolean':
      if (TRUE.has(text)) return true;
      if (FALSE.has(text)) return false;
      throw new TypeError(`expected true or false, found ${JSON.stringify(text)}`);
    case 'json':
      try {
        return parseJson(text);
      } catch (error) {
        throw new TypeError(`expected JSON, found ${JSON.stringify(text)} (${(error as Error).message})`);
      }
  }
}
