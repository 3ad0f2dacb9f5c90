import { URL_PASSWORD } from './config/secret-names.js';

/** What replaces a secret. */
const MASK = '***';

/** Secrets shorter than this are hidden only where they stand as a whole word, so `p` does not mask every `p`. */
const SHORT_SECRET = 8;

/**
 * Hides secrets in text meant for logs and error messages: every occurrence of each secret (also as it appears
 * inside JSON strings and URL-encoded) and the password of any `scheme://user:password@host` URL become `***`.
 * Secrets shorter than 8 characters are replaced where they are not part of a longer word.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let result = text.replace(URL_PASSWORD, `$1${MASK}@`);
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === '') continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
  }
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    if (form.length >= SHORT_SECRET) result = result.split(form).join(MASK);
    else
      result = result.replace(
        new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(form)}(?![\\p{L}\\p{N}_])`, 'gu'),
        MASK,
      );
  }
  return result;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
