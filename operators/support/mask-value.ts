import { createHash, createHmac } from 'node:crypto';
import type { Value } from '../../runtime/record.js';
import { castValue } from './cast-value.js';

/** Hash algorithms `mask` offers. */
export const MASK_HASHES = ['sha256', 'sha512'] as const;

/**
 * How `transform`'s `mask` hides a field:
 * - `redact`: the text `***`;
 * - `{ hash, salt? }`: the hex digest of the value's text; with a salt, an HMAC keyed by it (so equal values still
 *   join, but cannot be looked up in a table of hashes without the salt);
 * - `{ truncate: n }`: the first n characters of the value's text;
 * - `{ keep_last: n }`: the last n characters, each earlier one replaced by `*` (`************1111`).
 */
export type MaskSpec =
  | 'redact'
  | { readonly hash: (typeof MASK_HASHES)[number]; readonly salt?: string }
  | { readonly truncate: number }
  | { readonly keep_last: number };

/** What `redact` writes. */
export const REDACTED = '***';

/** Splits text into characters (code points), not UTF-16 units, so a cut never halves an emoji. */
function characters(text: string): string[] {
  return Array.from(text);
}

/**
 * Hides a value as `spec` says. Null stays null (it reveals nothing). Values that are not text are masked through
 * their text form (`castValue(value, 'string')`: decimals keep their digits, dates are ISO-8601).
 */
export function maskValue(value: Value, spec: MaskSpec): Value {
  if (value === null) return null;
  if (spec === 'redact') return REDACTED;
  const text = castValue(value, 'string') as string;
  if ('hash' in spec) {
    const digest = spec.salt ? createHmac(spec.hash, spec.salt) : createHash(spec.hash);
    return digest.update(text, 'utf8').digest('hex');
  }
  if ('truncate' in spec) return characters(text).slice(0, spec.truncate).join('');
  const all = characters(text);
  const hidden = Math.max(0, all.length - spec.keep_last);
  return '*'.repeat(hidden) + all.slice(hidden).join('');
}
