/** Where the webhook source listens when its config says nothing. */
export const DEFAULT_LISTEN = '127.0.0.1:9443';

const LISTEN = /^(?:(.+):)?(\d{1,5})$/;

/** `host:port` or a bare port (on 127.0.0.1) as host and port; undefined when it is neither. */
export function listenOf(listen: string): { host: string; port: number } | undefined {
  const match = LISTEN.exec(listen);
  const port = Number(match?.[2]);
  if (!match || port > 65_535) return undefined;
  return { host: (match[1] ?? '127.0.0.1').replace(/^\[(.*)\]$/, '$1'), port };
}
