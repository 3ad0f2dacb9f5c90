/** One node's part in readiness. */
interface NodeHealth {
  readonly kind: 'source' | 'sink';
  connected: boolean;
  /** The last failure not yet followed by a success, as text. */
  failure: string | undefined;
  /** For sources: batches read and not yet acknowledged. */
  inFlight: number;
  /** For sources: when the oldest unacknowledged stretch began, or when a batch was last acknowledged (ms, monotonic). */
  since: number;
}

/** What `/readyz` answers: ready, or the reasons it is not. */
export interface Readiness {
  readonly ready: boolean;
  /** One line per problem, naming the node (empty when ready). */
  readonly reasons: readonly string[];
}

/**
 * Readiness of a running pipeline, fed by the engine: every source and sink connected, none with a failure that has
 * not been followed by a success (a write being retried, a reconnect in backoff), and every source with records in
 * flight having had a batch acknowledged (its checkpoint advanced) within `stallAfterMs`. Liveness needs none of
 * this: a process that answers is alive.
 */
export class PipelineHealth {
  readonly #nodes = new Map<string, NodeHealth>();
  readonly #stallAfterMs: number;
  readonly #now: () => number;
  #finished: string | undefined;

  /** @param now monotonic milliseconds (default: `performance.now`). */
  constructor(
    sources: readonly string[],
    sinks: readonly string[],
    stallAfterMs: number,
    now: () => number = () => performance.now(),
  ) {
    this.#stallAfterMs = stallAfterMs;
    this.#now = now;
    const at = now();
    for (const name of sources)
      this.#nodes.set(name, { kind: 'source', connected: false, failure: undefined, inFlight: 0, since: at });
    for (const name of sinks)
      this.#nodes.set(name, { kind: 'sink', connected: false, failure: undefined, inFlight: 0, since: at });
  }

  /** A connector connected (or reconnected). */
  connected(node: string): void {
    const health = this.#nodes.get(node);
    if (health === undefined) return;
    health.connected = true;
    health.failure = undefined;
  }

  /** A connector closed (its incarnation ended; the supervisor may connect it again). */
  disconnected(node: string): void {
    const health = this.#nodes.get(node);
    if (health !== undefined) health.connected = false;
  }

  /** A connect, read or write failed: the node is not ready until it {@link succeeded}. */
  failed(node: string, reason: string): void {
    const health = this.#nodes.get(node);
    if (health !== undefined) health.failure = reason;
  }

  /** A read or write succeeded after a failure. */
  succeeded(node: string): void {
    const health = this.#nodes.get(node);
    if (health !== undefined) health.failure = undefined;
  }

  /** A source handed a batch to the graph. */
  dispatched(source: string): void {
    const health = this.#nodes.get(source);
    if (health === undefined) return;
    if (health.inFlight === 0) health.since = this.#now();
    health.inFlight++;
  }

  /** A source's batch was acknowledged: its checkpoint may advance. */
  acknowledged(source: string): void {
    const health = this.#nodes.get(source);
    if (health === undefined) return;
    health.inFlight = Math.max(0, health.inFlight - 1);
    health.since = this.#now();
  }

  /** The pipeline ended (finished, failed or stopped): it is no longer ready, for `reason`. */
  finish(reason: string): void {
    this.#finished = reason;
  }

  /** Seconds since a source with records in flight last advanced (0 when it has none in flight). */
  checkpointAgeSeconds(source: string): number {
    const health = this.#nodes.get(source);
    if (health === undefined || health.inFlight === 0) return 0;
    return (this.#now() - health.since) / 1000;
  }

  /** True when the node is connected and has no unrecovered failure. */
  up(node: string): boolean {
    const health = this.#nodes.get(node);
    return health !== undefined && health.connected && health.failure === undefined;
  }

  /** The node names, with their kinds. */
  nodes(): IterableIterator<[string, { readonly kind: 'source' | 'sink' }]> {
    return this.#nodes.entries();
  }

  /** Ready, or every reason it is not. */
  readiness(): Readiness {
    if (this.#finished !== undefined) return { ready: false, reasons: [this.#finished] };
    const reasons: string[] = [];
    const now = this.#now();
    for (const [name, health] of this.#nodes) {
      if (health.failure !== undefined)
        reasons.push(`${health.kind} "${name}" is failing: ${health.failure}`);
      else if (!health.connected) reasons.push(`${health.kind} "${name}" is not connected`);
      if (health.inFlight > 0 && now - health.since > this.#stallAfterMs) {
        reasons.push(
          `source "${name}" has ${health.inFlight} batch(es) in flight and no checkpoint progress for ` +
            `${Math.round((now - health.since) / 1000)} s (limit ${Math.round(this.#stallAfterMs / 1000)} s)`,
        );
      }
    }
    return { ready: reasons.length === 0, reasons };
  }
}
