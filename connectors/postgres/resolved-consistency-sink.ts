import type { DeadLetter } from '../../runtime/dead-letter.js';
import { SluiceError } from '../../runtime/errors.js';
import { stringifyJson } from '../../runtime/json.js';
import type { ChangeRecord } from '../../runtime/record.js';
import type { Sink, SinkContext, WriteResult } from '../../runtime/sink.js';
import { compareVersions, readPath, versionOf } from './version.js';

/** One `write` call's records while they wait: acknowledged once the last of them is written. */
interface HeldWrite {
  remaining: number;
  readonly rejected: DeadLetter[];
  readonly done: (rejected: readonly DeadLetter[]) => void;
}

/** A record waiting for a watermark that covers its version. */
interface HeldRecord {
  readonly record: ChangeRecord;
  readonly version: string;
  readonly write: HeldWrite;
}

/**
 * `consistency: resolved` for the Postgres sink: holds every change until its source's watermark (a CockroachDB
 * resolved timestamp) reaches the change's version (`version_from`, e.g. `source.hlc`), then writes all the changes
 * the watermark covers through the wrapped sink in one transaction. The target therefore moves from one resolved
 * state of the source to the next, never showing a mix; newer-wins still guards each row against replays.
 *
 * `write` only accepts: its `applied` promise resolves (and the records are acknowledged) once they are written.
 * Held records count against their source's in-flight budget, which must exceed the changes between two watermarks
 * (else the pipeline fails with `IN_FLIGHT_BUDGET_STALLED`). Records without a version are rejected at once.
 * Watermarks and versions are compared as `versionOf` reads them (HLC digits, LSN positions, numbers).
 *
 * A record at or below a watermark this sink already applied for its source is held for the next watermark like
 * any other, not taken for a replay: the watermark covered only what the source read then, and a Kafka partition
 * this consumer was just given (its previous owner having stopped) brings changes below it that were never
 * written. A true replay is written again, which newer-wins makes harmless for a row the target holds, and for a
 * deleted row as long as its tombstone is kept (`tombstones`, on by default).
 * Closing drops what is held: those records were never acknowledged and are read again.
 */
export class ResolvedConsistencySink implements Sink {
  readonly #inner: Sink;
  readonly #versionPath: readonly string[];
  /** Held records per source node, in arrival order. */
  readonly #held = new Map<string, HeldRecord[]>();
  #name = 'postgres';

  /**
   * @param inner the sink that writes each watermark's changes in one transaction (a `PostgresSink`).
   * @param versionFrom the record field holding the version compared with watermarks, e.g. `source.hlc`.
   */
  constructor(inner: Sink, versionFrom: string) {
    this.#inner = inner;
    this.#versionPath = versionFrom.split('.');
  }

  /** Connects the wrapped sink; nothing is held after a (re)connect. */
  async connect(context: SinkContext): Promise<void> {
    this.#name = context.name;
    this.#held.clear();
    await this.#inner.connect(context);
  }

  /** Holds the records until a watermark covers them; see the class comment. */
  write(records: readonly ChangeRecord[]): Promise<WriteResult> {
    const rejected: DeadLetter[] = [];
    let done: (rejected: readonly DeadLetter[]) => void = () => undefined;
    const applied = new Promise<readonly DeadLetter[]>((resolve) => (done = resolve));
    const write: HeldWrite = { remaining: 0, rejected: [], done };
    for (const record of records) {
      const raw = readPath(record, this.#versionPath);
      const version = versionOf(raw);
      if (version === undefined) {
        rejected.push({
          node: this.#name,
          reason: `consistency: resolved needs a version at ${this.#versionPath.join('.')} to compare with resolved timestamps, got ${raw === undefined ? 'nothing' : stringifyJson(raw).slice(0, 80)}`,
          field: this.#versionPath.join('.'),
          source: { name: record.source.name, position: record.source.position },
          record,
        });
        continue;
      }
      let held = this.#held.get(record.source.name);
      if (held === undefined) this.#held.set(record.source.name, (held = []));
      held.push({ record, version, write });
      write.remaining++;
    }
    if (write.remaining === 0) done([]);
    return Promise.resolve({ rejected, applied });
  }

  /**
   * Writes every held change of `source` whose version is at most `watermark`, in one transaction, then
   * acknowledges the writes that are complete. Rejects like the wrapped sink's `write` (nothing is released then,
   * so a retry writes the same changes again); rejects with `SINK_WATERMARK_INVALID` for a watermark that is not a
   * version.
   */
  async watermark(source: string, watermark: string): Promise<void> {
    const limit = versionOf(watermark);
    if (limit === undefined) {
      throw new SluiceError(
        'SINK_WATERMARK_INVALID',
        `sink "${this.#name}" (consistency: resolved) expected source "${source}" to send watermarks comparable with ${this.#versionPath.join('.')} (an HLC, LSN or number), got ${JSON.stringify(watermark)}`,
      );
    }
    const due = (this.#held.get(source) ?? []).filter((held) => compareVersions(held.version, limit) <= 0);
    if (due.length === 0) return;
    const result = await this.#inner.write(due.map((held) => held.record));
    const written = new Set(due);
    const left = this.#held.get(source)?.filter((held) => !written.has(held));
    if (left === undefined || left.length === 0) this.#held.delete(source);
    else this.#held.set(source, left);
    const refused = new Map((result?.rejected ?? []).map((letter) => [letter.record, letter]));
    for (const held of due) {
      const letter = refused.get(held.record);
      if (letter !== undefined) held.write.rejected.push(letter);
      if (--held.write.remaining === 0) held.write.done(held.write.rejected);
    }
  }

  /** Drops what is held (it was never acknowledged) and closes the wrapped sink. Idempotent. */
  async close(): Promise<void> {
    this.#held.clear();
    await this.#inner.close();
  }
}
