/**
 * Keeps a bounded uniform sample of latencies (reservoir sampling) and reports percentiles, so a run of millions
 * of records costs a fixed amount of memory.
 */
export class LatencySampler {
  readonly #samples: number[] = [];
  readonly #capacity: number;
  #seen = 0;

  constructor(capacity = 20_000) {
    this.#capacity = capacity;
  }

  /** Records one latency in milliseconds. */
  add(latencyMs: number): void {
    this.#seen++;
    if (this.#samples.length < this.#capacity) {
      this.#samples.push(latencyMs);
      return;
    }
    const slot = Math.floor(Math.random() * this.#seen);
    if (slot < this.#capacity) this.#samples[slot] = latencyMs;
  }

  /** The sample, for handing to the parent process. */
  get samples(): readonly number[] {
    return this.#samples;
  }
}

/** The `p`-th percentile (0..100) of `values`, or 0 when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}
