/** The FNV-1a 32-bit offset basis: the hash of nothing, where a hash starts. */
export const FNV_OFFSET = 0x811c9dc5;
/** The FNV-1a 32-bit prime. */
export const FNV_PRIME = 0x01000193;

/** Folds `text`'s UTF-16 code units into an FNV-1a hash (a signed 32-bit integer; `>>> 0` for unsigned). */
export function fnvText(hash: number, text: string): number {
  let h = hash;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h;
}
