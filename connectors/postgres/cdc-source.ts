import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { AckTracker } from '../../runtime/ack-tracker.js';
import { parseDuration } from '../../runtime/config/duration.js';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import { messageOf, NotConnectedError, SluiceError } from '../../runtime/errors.js';
import { DEFAULTS } from '../../runtime/limits.js';
import type { ChangeRecord } from '../../runtime/record.js';
import type { Source, SourceBatch, SourceContext } from '../../runtime/source.js';
import { CdcChangeDecoder, type CdcItem } from './cdc-change-decoder.js';
import { cdcClientConfig } from './cdc-client-config.js';
import type { PostgresCdcConfig } from './cdc-config.js';
import { Lsn } from './cdc-lsn.js';
import { decodePgoutput } from './cdc-pgoutput.js';
import { checkCdcPrerequisites } from './cdc-prerequisites.js';
import { ReplicationConnection, type ExportedSnapshot } from './cdc-replication-connection.js';
import { CdcSnapshotReader } from './cdc-snapshot-reader.js';
import type { CdcTable } from './cdc-table.js';
import { describeTarget, poolConfig } from './connection.js';
import { errorKind } from './error-kind.js';
import { TableName } from './table-name.js';

/** A position the slot may confirm once every record up to it is handled. */
interface Position {
  readonly lsn: bigint;
  /** The last batch of the initial snapshot: once it is handled, the snapshot is complete. */
  readonly snapshotComplete: boolean;
}

/** What the source keeps in the pipeline's checkpoint store: whether the slot's initial snapshot completed. */
interface SnapshotMarker {
  readonly slot: string;
  readonly done: boolean;
}

/** The checkpoint key of the {@link SnapshotMarker}. */
const MARKER_KEY = 'snapshot';
/** The stream stops reading from the server when this many batches of records wait in memory. */
const QUEUE_BATCHES = 4;

/**
 * The `postgres_cdc` source: change data capture from Postgres by logical replication (pgoutput), with an initial
 * snapshot consistent with the replication slot.
 *
 * - `connect` checks the prerequisites (see `checkCdcPrerequisites`), creates the publication and the slot when
 *   absent, and decides whether to snapshot: `initial` when the slot is new, `always` on every start, `never`.
 * - A new slot exports a snapshot; the tables are read on it (as `read` records, chunked by key) and streaming
 *   then starts at the slot's consistent point: nothing is missed and nothing is applied twice out of order.
 * - With `always` and an existing slot, the snapshot is fresh and streaming resumes from the slot's confirmed
 *   position: the changes made since then are replayed after the snapshot, so the target converges once they are
 *   (snapshot records carry the snapshot's LSN in `source.lsn`, so a newer-wins sink ignores the older replays).
 * - A restart in the middle of the initial snapshot (a marker in the checkpoint store says whether it completed)
 *   keeps the slot, which has confirmed nothing yet, and takes a fresh snapshot as `always` does: the slot then
 *   replays every change since its consistent point, deletes of rows the interrupted snapshot wrote included.
 * - The slot confirms (standby status update) the end of the contiguous acknowledged prefix of transactions, never
 *   more: after a restart the server resends everything after it. It confirms at every advance, and every
 *   `heartbeat` also when idle (then up to the server's WAL end), so the WAL never grows without bound, and once
 *   more on `close`, so a commit that arrived after its records were read is not replayed after a clean stop.
 * - Records: see `CdcChangeDecoder` (commit LSN and time, TOAST, truncates) and `decodeTextValue` (types).
 */
export class PostgresCdcSource implements Source {
  readonly bounded = false;
  readonly #config: PostgresCdcConfig;
  readonly #node: string;
  readonly #where: string;
  readonly #tableNames: readonly TableName[];
  readonly #batchRecords: number;
  readonly #heartbeatMs: number;
  #context: SourceContext | undefined;
  #control: pg.Client | undefined;
  #replication: ReplicationConnection | undefined;
  #snapshotClient: pg.Client | undefined;
  #snapshot: CdcSnapshotReader | undefined;
  #snapshotRows: ChangeRecord[] = [];
  #snapshotDone = 0;
  #snapshotTotal: number | null = 0;
  #tables: readonly CdcTable[] = [];
  #startLsn = 0n;
  #streamStarted = false;
  #decoder: CdcChangeDecoder | undefined;
  #queue: { item: CdcItem; bytes: number }[] = [];
  #queuedRecords = 0;
  #paused = false;
  #wake: (() => void) | undefined;
  #failure: Error | undefined;
  #tracker = new AckTracker<Position>();
  #lastEnd = 0n;
  /** The last stream batch when it ended before its transaction's commit was read: that commit is where it ends. */
  #openBatch: number | undefined;
  #serverEnd = 0n;
  #markerSaved = true;
  #commits: Promise<void> = Promise.resolve();
  #heartbeat: NodeJS.Timeout | undefined;
  #connected = false;

  constructor(config: PostgresCdcConfig, node: string) {
    this.#config = config;
    this.#node = node;
    this.#where = describeTarget(config);
    this.#tableNames = config.tables.map((table) => TableName.parse(table));
    this.#batchRecords = config.batch_records ?? DEFAULTS.sourceBatchRecords;
    this.#heartbeatMs = parseDuration(config.heartbeat ?? '10s');
  }

  async connect(context: SourceContext): Promise<void> {
    this.#context = context;
    this.#reset();
    try {
      await this.#open(context);
    } catch (error) {
      await this.close();
      throw classify(error, `connecting to ${this.#where}`);
    }
    this.#connected = true;
    this.#heartbeat = setInterval(() => this.#beat(), this.#heartbeatMs);
    this.#heartbeat.unref();
  }

  async #open(context: SourceContext): Promise<void> {
    const config = this.#config;
    const name = `sluice:${context.pipeline}:${context.name}`;
    this.#control = new pg.Client(poolConfig(config, name));
    this.#control.on('error', () => undefined);
    await this.#control.connect();
    const prerequisites = await checkCdcPrerequisites(this.#control, {
      tables: this.#tableNames,
      slot: config.slot,
      publication: config.publication,
      where: this.#where,
    });
    this.#tables = prerequisites.tables;
    this.#decoder = new CdcChangeDecoder(context.name, this.#tables);
    const mode = config.snapshot ?? 'initial';
    const slotExists = prerequisites.slot !== null;
    let resnapshot = false;
    if (slotExists && mode === 'initial') {
      const marker = (await context.checkpoints.load(MARKER_KEY)) as SnapshotMarker | undefined;
      if (marker?.slot === config.slot && !marker.done) {
        // Keep the slot: rows the interrupted snapshot wrote may have been deleted since, and only the slot's
        // stream (still at its consistent point) carries those deletes.
        context.logger.warn({ slot: config.slot }, 'the initial snapshot did not complete: taking a fresh snapshot and replaying the slot from its start');
        resnapshot = true;
      }
    }
    if (!slotExists && mode !== 'never') await context.checkpoints.save(MARKER_KEY, { slot: config.slot, done: false } satisfies SnapshotMarker);
    this.#replication = await ReplicationConnection.open(config, name);
    /** The snapshot the new slot exported, which stands for the slot's consistent point. */
    let created: ExportedSnapshot | undefined;
    if (slotExists) {
      this.#startLsn = Lsn.parse(prerequisites.slot.confirmedFlushLsn ?? '0/0');
    } else {
      created = await this.#replication.createSlot(config.slot);
      this.#startLsn = created.consistentPoint;
      context.logger.info({ slot: config.slot, lsn: Lsn.format(created.consistentPoint) }, 'created the replication slot');
    }
    const snapshotting = mode === 'always' || (mode === 'initial' && (!slotExists || resnapshot));
    this.#markerSaved = !(snapshotting && mode === 'initial');
    this.#lastEnd = this.#startLsn;
    this.#openBatch = undefined;
    this.#tracker = new AckTracker<Position>({ lsn: this.#startLsn, snapshotComplete: !snapshotting });
    if (!snapshotting) return;
    const snapshotClient = new pg.Client(cdcClientConfig(config, `${name}:snapshot`));
    this.#snapshotClient = snapshotClient;
    snapshotClient.on('error', () => undefined);
    await snapshotClient.connect();
    const begin = async (exported: ExportedSnapshot): Promise<CdcSnapshotReader> => {
      const reader = new CdcSnapshotReader(snapshotClient, {
        tables: this.#tables,
        chunkRows: config.snapshot_chunk_rows ?? 10_000,
        sourceName: context.name,
        lsn: Lsn.format(exported.consistentPoint),
      });
      await reader.begin(exported.snapshotName);
      return reader;
    };
    const snapshot = created !== undefined ? await begin(created) : await withTemporarySnapshot(config, `${name}:snapshot`, this.#where, begin);
    this.#snapshot = snapshot;
    this.#snapshotTotal = snapshot.total;
    context.logger.info({ tables: this.#tables.map((table) => String(table.name)), rows: this.#snapshotTotal }, 'snapshot started');
    this.#snapshotRows = (await snapshot.next()) ?? [];
  }

  async read(): Promise<SourceBatch | null> {
    const context = this.#context;
    if (!this.#connected || context === undefined) throw new NotConnectedError(`postgres_cdc source "${this.#node}"`);
    if (this.#snapshot !== undefined) {
      const batch = await this.#readSnapshot();
      if (batch !== null) return batch;
    }
    if (!this.#streamStarted) await this.#startStream();
    return this.#readStream(context.signal);
  }

  async #readSnapshot(): Promise<SourceBatch | null> {
    const snapshot = this.#snapshot!;
    const records = this.#snapshotRows.splice(0, this.#batchRecords);
    if (this.#snapshotRows.length === 0) this.#snapshotRows = (await snapshot.next()) ?? [];
    this.#snapshotDone = snapshot.done - this.#snapshotRows.length;
    const last = this.#snapshotRows.length === 0;
    if (last) await this.#finishSnapshot();
    if (records.length === 0) {
      if (last) this.#onCommittable({ lsn: this.#startLsn, snapshotComplete: true });
      return null;
    }
    const id = this.#tracker.track({ lsn: this.#startLsn, snapshotComplete: last });
    return {
      records,
      bytes: records.length * 128,
      ack: (count?: number) => {
        const committable =
          count === undefined || count >= records.length
            ? this.#tracker.ack(id)
            : this.#tracker.ack(id, { lsn: this.#startLsn, snapshotComplete: false });
        if (committable !== undefined) this.#onCommittable(committable);
      },
    };
  }

  async #finishSnapshot(): Promise<void> {
    const client = this.#snapshotClient;
    this.#snapshot = undefined;
    this.#snapshotClient = undefined;
    this.#snapshotTotal = this.#snapshotDone;
    await client?.end().catch(() => undefined);
    this.#context?.logger.info({ rows: this.#snapshotDone }, 'snapshot read');
  }

  async #startStream(): Promise<void> {
    this.#streamStarted = true;
    await this.#replication!.start(this.#config.slot, this.#startLsn, this.#config.publication, {
      onData: (_walStart, payload) => this.#onData(payload),
      onKeepalive: (walEnd) => {
        if (walEnd > this.#serverEnd) this.#serverEnd = walEnd;
      },
      onEnd: (error) => {
        this.#failure ??= classify(error, `streaming slot "${this.#config.slot}" from ${this.#where}`);
        this.#wake?.();
      },
    });
    this.#context?.logger.info({ slot: this.#config.slot, lsn: Lsn.format(this.#startLsn) }, 'streaming started');
  }

  #onData(payload: Buffer): void {
    const items = this.#decoder!.decode(decodePgoutput(payload), Date.now());
    if (items.length === 0) return;
    const bytes = Math.ceil(payload.length / items.length);
    for (const item of items) {
      this.#queue.push({ item, bytes });
      if (item.kind !== 'commit') this.#queuedRecords++;
    }
    if (!this.#paused && this.#queuedRecords >= this.#batchRecords * QUEUE_BATCHES) {
      this.#paused = true;
      this.#replication?.pause();
    }
    this.#wake?.();
  }

  async #readStream(signal: AbortSignal): Promise<SourceBatch | null> {
    for (;;) {
      if (this.#failure !== undefined) throw this.#failure;
      if (signal.aborted) return null;
      const batch = this.#takeBatch();
      if (batch !== null) return batch;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          this.#wake = undefined;
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.#wake = done;
        signal.addEventListener('abort', done);
      });
    }
  }

  /** Takes up to `batch_records` records (and the commits that follow them) from the queue, or null when it holds none. */
  #takeBatch(): SourceBatch | null {
    const records: ChangeRecord[] = [];
    const rejected: DeadLetter[] = [];
    const commits: { records: number; lsn: bigint }[] = [];
    const before = this.#lastEnd;
    let bytes = 0;
    let taken = 0;
    for (; taken < this.#queue.length; taken++) {
      const { item, bytes: size } = this.#queue[taken]!;
      if (item.kind === 'commit') {
        if (records.length === 0 && rejected.length === 0) this.#endOpenBatch(item.endLsn);
        this.#lastEnd = item.endLsn;
        commits.push({ records: records.length, lsn: item.endLsn });
        continue;
      }
      if (records.length + rejected.length >= this.#batchRecords) break;
      bytes += size;
      if (item.kind === 'record') records.push(item.record);
      else rejected.push(item.letter);
    }
    const endsInTransaction = taken > 0 && this.#queue[taken - 1]!.item.kind !== 'commit';
    this.#queue.splice(0, taken);
    this.#queuedRecords -= records.length + rejected.length;
    if (this.#paused && this.#queuedRecords < this.#batchRecords) {
      this.#paused = false;
      this.#replication?.resume();
    }
    if (records.length === 0 && rejected.length === 0) {
      // Only empty transactions: confirm them when nothing else waits.
      if (commits.length > 0 && this.#tracker.pending === 0) this.#onCommittable({ lsn: this.#lastEnd, snapshotComplete: true });
      return null;
    }
    const id = this.#tracker.track({ lsn: this.#lastEnd, snapshotComplete: true });
    this.#openBatch = endsInTransaction ? id : undefined;
    const partial = (count: number): Position => {
      let lsn = before;
      for (const commit of commits) if (commit.records <= count) lsn = commit.lsn;
      return { lsn, snapshotComplete: true };
    };
    return {
      records,
      ...(rejected.length > 0 ? { rejected } : {}),
      bytes,
      watermark: Lsn.format(this.#lastEnd),
      ack: (count?: number) => {
        const committable = count === undefined || count >= records.length ? this.#tracker.ack(id) : this.#tracker.ack(id, partial(count));
        if (committable !== undefined) this.#onCommittable(committable);
      },
    };
  }

  /** A commit read after the last records of its transaction were taken: the batch that took them ends there. */
  #endOpenBatch(endLsn: bigint): void {
    if (this.#openBatch === undefined) return;
    const committable = this.#tracker.advance(this.#openBatch, { lsn: endLsn, snapshotComplete: true });
    this.#openBatch = undefined;
    if (committable !== undefined) this.#onCommittable(committable);
  }

  /** Confirms a committable position to the server, after recording that the initial snapshot completed when it did. */
  #onCommittable(position: Position): void {
    this.#commits = this.#commits.then(async () => {
      try {
        if (position.snapshotComplete && !this.#markerSaved) {
          await this.#context!.checkpoints.save(MARKER_KEY, { slot: this.#config.slot, done: true } satisfies SnapshotMarker);
          this.#markerSaved = true;
          this.#context?.logger.info({ slot: this.#config.slot }, 'snapshot complete');
        }
        if (this.#markerSaved && this.#replication?.streaming) this.#replication.sendStatus(position.lsn);
      } catch (error) {
        this.#context?.logger.warn({ err: error }, 'could not record the snapshot as complete; it will be confirmed again');
      }
    });
  }

  /** The heartbeat: confirms the acknowledged prefix, and the server's WAL end when nothing is outstanding. */
  #beat(): void {
    const replication = this.#replication;
    if (!replication?.streaming || !this.#markerSaved) return;
    // Commits that arrived after their transaction's last record was taken: their records are tracked already.
    while (this.#queue[0]?.item.kind === 'commit') {
      const { endLsn } = this.#queue.shift()!.item as { endLsn: bigint };
      this.#endOpenBatch(endLsn);
      this.#lastEnd = endLsn;
    }
    let flushed = this.#tracker.committable?.lsn ?? this.#startLsn;
    const idle = this.#tracker.pending === 0 && this.#queue.length === 0 && !this.#decoder!.inTransaction;
    if (idle) {
      if (this.#lastEnd > flushed) flushed = this.#lastEnd;
      if (this.#serverEnd > flushed) flushed = this.#serverEnd;
    }
    replication.sendStatus(flushed);
  }

  /** Snapshot progress: rows read and the planner's estimate of all rows (exact once the snapshot is read). */
  progress(): { done: number; total: number | null; unit: string } {
    return { done: this.#snapshotDone, total: this.#snapshotTotal, unit: 'rows' };
  }

  async close(): Promise<void> {
    this.#connected = false;
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
    this.#wake?.();
    await this.#commits;
    this.#beat();
    const replication = this.#replication;
    const snapshotClient = this.#snapshotClient;
    const control = this.#control;
    this.#replication = undefined;
    this.#snapshotClient = undefined;
    this.#snapshot = undefined;
    this.#control = undefined;
    await replication?.close();
    await snapshotClient?.end().catch(() => undefined);
    await control?.end().catch(() => undefined);
  }

  #reset(): void {
    this.#snapshotRows = [];
    this.#snapshotDone = 0;
    this.#snapshotTotal = 0;
    this.#streamStarted = false;
    this.#queue = [];
    this.#queuedRecords = 0;
    this.#paused = false;
    this.#failure = undefined;
    this.#serverEnd = 0n;
    this.#commits = Promise.resolve();
  }
}

/**
 * Runs `use` on a fresh snapshot exported by a temporary slot named after `slot`, on a replication connection of
 * its own, and returns what `use` gives. This is the one way to know the exact LSN a snapshot of an existing slot
 * stands for: a transaction can have written its commit record and not be visible yet, and a snapshot labelled
 * with a later LSN would make a newer-wins sink drop that transaction's changes as replays. `use` must import the
 * snapshot; closing the connection afterwards drops the slot, and the imported snapshot outlives it. Throws
 * `PG_NO_FREE_REPLICATION_SLOT` when no slot is free for it.
 */
async function withTemporarySnapshot<T>(
  config: PostgresCdcConfig,
  applicationName: string,
  where: string,
  use: (exported: ExportedSnapshot) => Promise<T>,
): Promise<T> {
  const slot = config.slot;
  const exporter = await ReplicationConnection.open(config, applicationName);
  try {
    let exported: ExportedSnapshot;
    try {
      exported = await exporter.createSlot(`${slot.slice(0, 40)}_snapshot_${randomBytes(4).toString('hex')}`, { temporary: true });
    } catch (error) {
      if ((error as { code?: unknown }).code !== '53400') throw error;
      throw new SluiceError(
        'PG_NO_FREE_REPLICATION_SLOT',
        `expected a free replication slot on ${where} for the temporary slot that exports a fresh snapshot of "${slot}", got ${messageOf(error)}: drop unused slots or raise max_replication_slots`,
        { cause: error },
      );
    }
    return await use(exported);
  } finally {
    await exporter.close();
  }
}

/** A failure as a Sluice error: connection trouble is retriable, everything else is not. */
function classify(error: unknown, doing: string): SluiceError {
  if (error instanceof SluiceError) return error;
  const retriable = errorKind(error) === 'unavailable';
  return new SluiceError(retriable ? 'PG_SOURCE_UNAVAILABLE' : 'PG_SOURCE_FAILED', `${doing} failed: ${messageOf(error)}`, {
    retriable,
    cause: error,
  });
}
