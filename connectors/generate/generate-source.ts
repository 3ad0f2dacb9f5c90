import { CheckpointCommitter } from '../../runtime/checkpoint-committer.js';
import { NotConnectedError, SluiceError } from '../../runtime/errors.js';
import type { ChangeRecord } from '../../runtime/record.js';
import type { Source, SourceBatch, SourceContext } from '../../runtime/source.js';
import { OrderGenerator } from './order-generator.js';

/** The settings of a {@link GenerateSource}, resolved from its config. */
export interface GenerateSourceSettings {
  /** Records to produce in total (across restarts); `undefined` for no end. */
  readonly count: number | undefined;
  /** Records per second; `undefined` for as fast as the pipeline takes them. */
  readonly rate: number | undefined;
  readonly seed: number;
  readonly batchRecords: number;
  /** Distinct ids; `undefined` for a new id per record. */
  readonly keys: number | undefined;
  /** Fraction of records with one deliberate defect, 0 to 1. */
  readonly invalidRatio: number;
  /** Fewest milliseconds between checkpoint saves while running (default `DEFAULTS.checkpointIntervalMs`). */
  readonly checkpointIntervalMs?: number;
}

/** The checkpoint: the sequence number of the first record not yet acknowledged. */
interface GeneratePosition {
  readonly next_sequence: number;
}

const CHECKPOINT_KEY = 'sequence';
/** With a rate, batches are sized to come about this often, so output is smooth. */
const RATE_TICKS_PER_SECOND = 100;
/** Approximate encoded size of one generated order, for the in-flight budget. */
const RECORD_BYTES = 200;

/** What one `connect` opened. */
interface Session {
  readonly context: SourceContext;
  readonly committer: CheckpointCommitter<GeneratePosition>;
  /** The sequence number this connection started at, and when (for the rate). */
  readonly startSequence: number;
  readonly startedAt: number;
}

/**
 * Produces synthetic orders (see {@link OrderGenerator}), bounded by `count` or endless, as fast as possible or at
 * a steady `rate` (batches of about a hundredth of a second's worth, each released when its first record is due).
 * The checkpoint is the next sequence number, so a restarted bounded generator produces exactly
 * `count` records in all, and the same ones.
 */
export class GenerateSource implements Source {
  readonly bounded: boolean;
  readonly #settings: GenerateSourceSettings;
  readonly #generator: OrderGenerator;
  readonly #batchRecords: number;
  #session: Session | undefined;
  #next = 0;

  constructor(settings: GenerateSourceSettings) {
    this.#settings = settings;
    this.bounded = settings.count !== undefined;
    this.#generator = new OrderGenerator(settings.seed, settings.keys, settings.invalidRatio);
    const perTick = settings.rate === undefined ? Infinity : Math.max(1, Math.ceil(settings.rate / RATE_TICKS_PER_SECOND));
    this.#batchRecords = Math.min(settings.batchRecords, perTick);
  }

  async connect(context: SourceContext): Promise<void> {
    const checkpoint = await context.checkpoints.load(CHECKPOINT_KEY);
    const committed = positionOf(checkpoint);
    this.#next = committed?.next_sequence ?? 0;
    this.#session = {
      context,
      committer: new CheckpointCommitter<GeneratePosition>({
        store: context.checkpoints,
        key: CHECKPOINT_KEY,
        logger: context.logger,
        intervalMs: this.#settings.checkpointIntervalMs,
        committed,
      }),
      startSequence: this.#next,
      startedAt: performance.now(),
    };
  }

  async read(): Promise<SourceBatch | null> {
    const session = this.#session;
    if (session === undefined) throw new NotConnectedError('generate source');
    const { context, committer } = session;
    const { count, rate } = this.#settings;
    const first = this.#next;
    const size = Math.min(this.#batchRecords, count === undefined ? Infinity : count - first);
    if (size <= 0) return null;
    if (rate !== undefined) {
      const dueAt = session.startedAt + ((first - session.startSequence) * 1000) / rate;
      await sleep(dueAt - performance.now(), context.signal);
    }
    if (context.signal.aborted) return null;
    const records: ChangeRecord[] = new Array<ChangeRecord>(size);
    const now = Date.now();
    const name = context.name;
    for (let i = 0; i < size; i++) {
      const sequence = first + i;
      const order = this.#generator.order(sequence);
      records[i] = {
        op: order.op,
        key: { id: order.id },
        before: null,
        after: order.row,
        source: { name, position: `generate:${sequence}`, table: 'orders' },
        sourceTimeMs: now,
        ingestTimeMs: now,
        headers: {},
      };
    }
    this.#next = first + size;
    const id = committer.track({ next_sequence: first + size });
    return {
      records,
      bytes: size * RECORD_BYTES,
      ack(handled?: number): void {
        if (handled === undefined || handled >= size) committer.ack(id);
        else committer.ack(id, { next_sequence: first + handled });
      },
    };
  }

  async close(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    await session.committer.close();
  }

  progress(): { done: number; total: number | null; unit: string } {
    return { done: this.#next, total: this.#settings.count ?? null, unit: 'records' };
  }
}

function positionOf(checkpoint: unknown): GeneratePosition | undefined {
  if (checkpoint === undefined) return undefined;
  const next: unknown = typeof checkpoint === 'object' && checkpoint !== null ? (checkpoint as Record<string, unknown>).next_sequence : undefined;
  if (typeof next !== 'number' || !Number.isSafeInteger(next) || next < 0) {
    throw new SluiceError('CHECKPOINT_CORRUPT', `expected a generate checkpoint { next_sequence } with a non-negative integer, found ${JSON.stringify(checkpoint)}`);
  }
  return { next_sequence: next };
}

/** Waits `ms` milliseconds, or less when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
