import { SluiceError } from '../../runtime/errors.js';

/** A parsed Postgres array: elements as text (null for NULL), nested for more dimensions. */
export type ArrayLiteral = (string | null | ArrayLiteral)[];

/**
 * Parses the text form of a Postgres array (`{1,2,NULL}`, `{{a,"b c"},{"x\"y",NULL}}`, `[0:1]={7,8}`) into its
 * elements as text, ready to be decoded one by one. Only the comma delimiter is handled (every built-in type
 * but `box` uses it). Throws `PG_ARRAY_INVALID` on malformed text.
 */
export function parseArrayLiteral(text: string): ArrayLiteral {
  let index = 0;
  if (text.startsWith('[')) {
    index = text.indexOf('=') + 1;
    if (index === 0) throw invalid(text, 'a dimension prefix without "="');
  }
  const fail = (what: string): never => {
    throw invalid(text, `${what} at offset ${index}`);
  };
  const parseLevel = (): ArrayLiteral => {
    if (text[index] !== '{') fail('expected "{"');
    index++;
    const elements: ArrayLiteral = [];
    if (text[index] === '}') {
      index++;
      return elements;
    }
    for (;;) {
      const char = text[index];
      if (char === '{') elements.push(parseLevel());
      else if (char === '"') {
        index++;
        let value = '';
        while (index < text.length && text[index] !== '"') {
          if (text[index] === '\\') index++;
          value += text[index] ?? '';
          index++;
        }
        if (text[index] !== '"') fail('unterminated quoted element');
        index++;
        elements.push(value);
      } else {
        const start = index;
        while (index < text.length && text[index] !== ',' && text[index] !== '}') index++;
        const raw = text.slice(start, index).trim();
        elements.push(raw.toUpperCase() === 'NULL' ? null : raw);
      }
      if (text[index] === ',') index++;
      else if (text[index] === '}') {
        index++;
        return elements;
      } else fail('expected "," or "}"');
    }
  };
  const result = parseLevel();
  if (index !== text.length) fail('unexpected text after the array');
  return result;
}

function invalid(text: string, what: string): SluiceError {
  return new SluiceError('PG_ARRAY_INVALID', `expected a Postgres array literal, got ${what} in ${JSON.stringify(text.slice(0, 200))}`);
}
