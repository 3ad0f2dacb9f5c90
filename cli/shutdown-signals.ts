/**
 * Wires SIGINT and SIGTERM to a graceful stop, and a second signal to a forced one. Returns a function that removes
 * the handlers.
 */
export function onShutdownSignals(stop: (signal: NodeJS.Signals) => void, force: (signal: NodeJS.Signals) => void): () => void {
  let received = 0;
  const handler = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) stop(signal);
    else force(signal);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
