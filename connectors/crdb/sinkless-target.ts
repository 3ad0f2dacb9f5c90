/** Where a connection URL points, without its password or query: `postgresql://user@host:port/database`. */
export function sinklessTarget(url: string): string {
  try {
    const parsed = new URL(url);
    const user = decodeURIComponent(parsed.username);
    return `${parsed.protocol}//${user}${user ? '@' : ''}${parsed.hostname}:${parsed.port || '26257'}${parsed.pathname}`;
  } catch {
    return '(unparsable url)';
  }
}
