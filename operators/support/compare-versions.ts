import type { Value } from '../../runtime/record.js';
import { compareNumbers, isNumeric } from './compare-numbers.js';

/** Digits, optionally a dot and more digits: CockroachDB HLC timestamps (`"<wall nanos>.<logical>"`), text counters. */
const HLC_TEXT = /^(\d+)(?:\.(\d+))?$/;

function compareHlc(left: RegExpExecArray, right: RegExpExecArray): -1 | 0 | 1 {
  const wallLeft = BigInt(left[1]!);
  const wallRight = BigInt(right[1]!);
  if (wallLeft !== wallRight) return wallLeft < wallRight ? -1 : 1;
  const logicalLeft = BigInt(left[2] ?? '0');
  const logicalRight = BigInt(right[2] ?? '0');
  return logicalLeft < logicalRight ? -1 : logicalLeft > logicalRight ? 1 : 0;
}

/**
 * Orders two record versions: numbers of any kind numerically (exactly, see `compareNumbers`); dates by time;
 * strings that are digits with an optional `.digits` part (CockroachDB HLC timestamps) as the pair
 * (BigInt wall time, logical counter); other strings lexically (by UTF-16 code units, which orders ISO-8601 text
 * correctly). Returns -1, 0 or 1, or `null` when the two cannot be ordered (different kinds, or null).
 */
export function compareVersions(left: Value, right: Value): -1 | 0 | 1 | null {
  if (isNumeric(left) && isNumeric(right)) return compareNumbers(left, right);
  if (left instanceof Date && right instanceof Date) {
    return left.getTime() < right.getTime() ? -1 : left.getTime() > right.getTime() ? 1 : 0;
  }
  if (typeof left === 'string' && typeof right === 'string') {
    const hlcLeft = HLC_TEXT.exec(left);
    const hlcRight = HLC_TEXT.exec(right);
    if (hlcLeft !== null && hlcRight !== null) return compareHlc(hlcLeft, hlcRight);
    return left < right ? -1 : left > right ? 1 : 0;
  }
  return null;
}
