import { closest, distance } from 'fastest-levenshtein';

/** The candidate close to `word` (a typo of it, not a different word), if any. */
export function closeMatch(word: string, candidates: Iterable<string>): string | undefined {
  const options = [...candidates];
  if (options.length === 0 || word === '') return undefined;
  const best = closest(word, options);
  const tolerance = Math.max(1, Math.min(3, Math.floor(Math.max(word.length, best.length) / 3)));
  const close =
    distance(word.toLowerCase(), best.toLowerCase()) <= tolerance ||
    (word.length >= 3 && best.startsWith(word)) ||
    (best.length >= 3 && word.startsWith(best));
  return close ? best : undefined;
}

/** `` (did you mean `x`?)`` when one of `candidates` is close to `word`, else the empty string. */
export function didYouMean(word: string, candidates: Iterable<string>): string {
  const match = closeMatch(word, candidates);
  return match === undefined ? '' : ` (did you mean \`${match}\`?)`;
}
