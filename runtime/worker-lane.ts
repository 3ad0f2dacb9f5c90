import { Decimal } from './decimal.js';
import { FNV_OFFSET, FNV_PRIME, fnvText } from './fnv-hash.js';
import type { ChangeRecord, Value } from './record.js';

/** Folds a key value into the hash; equal keys (5 and 5n alike) hash alike, whatever object holds them. */
function hashValue(hash: number, value: Value): number {
  if (value === null) return fnvText(hash, '\u0000z');
  switch (typeof value) {
    case 'string':
      return fnvText(hash, `\u0000s${value}`);
    case 'number':
    case 'bigint':
      return fnvText(hash, `\u0000n${value}`);
    case 'boolean':
      return fnvText(hash, value ? '\u0000t' : '\u0000f');
  }
  if (value instanceof Decimal) return fnvText(hash, `\u0000n${value.text}`);
  if (value instanceof Date) return fnvText(hash, `\u0000d${value.getTime()}`);
  if (value instanceof Uint8Array) {
    let h = fnvText(hash, '\u0000b');
    for (const byte of value) h = Math.imul(h ^ byte, FNV_PRIME);
    return h;
  }
  if (Array.isArray(value)) {
    let h = fnvText(hash, '\u0000[');
    for (const item of value) h = hashValue(h, item);
    return h;
  }
  let h = fnvText(hash, '\u0000{');
  for (const column in value) h = hashValue(fnvText(h, column), value[column]!);
  return h;
}

/**
 * The lane (0 to `lanes - 1`) a record goes to: a hash (FNV-1a) of its key's columns and values, so every record
 * with the same key takes the same lane and keeps its order. Records without a key promise no order among
 * themselves and are spread by their index in the batch.
 */
export function laneOf(record: ChangeRecord, index: number, lanes: number): number {
  if (lanes === 1) return 0;
  const { key } = record;
  if (key === null) return index % lanes;
  return (hashValue(FNV_OFFSET, key) >>> 0) % lanes;
}
