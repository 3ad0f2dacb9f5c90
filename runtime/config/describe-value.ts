const LONGEST_SHOWN = 60;

/** How a config value is shown in error messages: `` `abc` ``, `5`, `true`, `a list`, `a mapping`, `an empty value`. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > LONGEST_SHOWN ? `${value.slice(0, LONGEST_SHOWN)}…` : value;
    return value === '' ? 'empty text' : `\`${shown}\``;
  }
  if (value === null || value === undefined) return 'an empty value';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
    ? String(value)
    : typeof value;
}
