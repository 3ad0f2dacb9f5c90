/**
 * Internal: RE2-style patterns (the syntax CEL's `matches` uses) as JavaScript regular expressions. Accepts a
 * leading flag group (`(?i)`, `(?s)`, `(?m)` or a mix) and `(?P<name>...)`; rejects what RE2 does not have
 * (backreferences, lookahead, lookbehind) so that patterns mean the same in Sluice as in other CEL engines.
 * Throws `Error` with a message saying what is wrong and at which character of the pattern.
 */
export function compilePattern(pattern: string): RegExp {
  let flags = 'u';
  let body = pattern;
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(pattern);
  if (leading !== null) {
    for (const flag of leading[1] ?? '') {
      if (flag !== 'i' && flag !== 's' && flag !== 'm')
        throw new Error(`unsupported flag '${flag}' in (?${leading[1]})`);
      if (!flags.includes(flag)) flags += flag;
    }
    body = pattern.slice(leading[0].length);
  }
  const start = pattern.length - body.length;
  let out = '';
  let inClass = false;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    const at = start + i;
    if (ch === '\\') {
      const next = body[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(next))
        throw new Error(`backreference \\${next} at ${at} is not supported`);
      if (!inClass && next === 'k') throw new Error(`named backreference at ${at} is not supported`);
      out += ch + next;
      i++;
    } else if (inClass) {
      if (ch === ']') inClass = false;
      out += ch;
    } else if (ch === '[') {
      inClass = true;
      out += ch;
      if (body[i + 1] === '^') out += body[++i];
      if (body[i + 1] === ']') out += '\\' + (body[++i] ?? '');
    } else if (ch === '(' && body[i + 1] === '?') {
      const rest = body.slice(i + 2);
      if (rest.startsWith('=') || rest.startsWith('!') || rest.startsWith('<=') || rest.startsWith('<!')) {
        throw new Error(`lookaround at ${at} is not supported`);
      }
      if (rest.startsWith('P<')) {
        out += '(?<';
        i += 3;
      } else if (rest.startsWith(':') || rest.startsWith('<')) {
        out += ch;
      } else {
        throw new Error(`flag group at ${at} is only supported at the start of the pattern`);
      }
    } else {
      out += ch;
    }
  }
  try {
    return new RegExp(out, flags);
  } catch (error) {
    throw new Error((error as Error).message.replace(/^Invalid regular expression: /, ''), { cause: error });
  }
}
