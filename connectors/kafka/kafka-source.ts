import Kafka, {
  type LibrdKafkaError,
  type Message,
  type TopicPartition,
  type TopicPartitionOffset,
} from 'node-rdkafka';
import type { Logger } from 'pino';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import type { SluiceError } from '../../runtime/errors.js';
import { messageOf, NotConnectedError } from '../../runtime/errors.js';
import type { ChangeRecord } from '../../runtime/record.js';
import type { Source, SourceBacklog, SourceBatch, SourceContext } from '../../runtime/source.js';
import type { SettingValue } from './client-settings.js';
import { DecodeError } from './decode-error.js';
import { connectKafkaClient } from './connect-client.js';
import { kafkaErrorCode, kafkaFailure } from './kafka-failure.js';
import type { KafkaMessageDecoder } from './message-decoder.js';
import { type MessageDecoding, messagePosition, messageToRecord } from './message-to-record.js';
import { PartitionState } from './partition-state.js';

const ERRORS = Kafka.CODES.ERRORS;

/**
 * Pauses between polls that returned nothing, in milliseconds: the first after messages flowed is short (a consumer
 * that caught up with its producer reads the next messages at once), each further one twice as long, up to the last.
 * Once a poll returned nothing, the next ones do not wait in librdkafka (they take what its queue holds), so an idle
 * topic costs a poll every ~10 ms that holds no libuv worker thread, and a message arriving on it is read within
 * about that.
 */
const FIRST_IDLE_WAIT_MS = 1;
const LONGEST_IDLE_WAIT_MS = 8;
/** Pauses between attempts of a decoder's `prepare` that failed: doubling up to the longest (which also bounds how long a stop waits for it). */
const FIRST_PREPARE_RETRY_MS = 50;
const LONGEST_PREPARE_RETRY_MS = 1_000;
/** Pause before a closing source sends again a commit the group refused while it rebalances. */
const COMMIT_RETRY_MS = 100;
/** How a group refuses commits while it rebalances: the same commit is taken once the rebalance settles. */
const REBALANCE_ERRORS: ReadonlySet<number> = new Set([
  ERRORS.ERR_REBALANCE_IN_PROGRESS,
  ERRORS.ERR_ILLEGAL_GENERATION,
]);

/** Everything a {@link KafkaSource} needs, already validated (see `source.ts` for the YAML options). */
export interface KafkaSourceOptions {
  /** Bootstrap servers, `host:port[,host:port...]`. */
  readonly brokers: string;
  /** Consumer group id. */
  readonly group: string;
  /** Topics to subscribe to; or, with one entry starting with `^`, a regular expression librdkafka matches. */
  readonly topics: readonly string[];
  /** Where a group with no committed offset starts. */
  readonly start: 'earliest' | 'latest';
  readonly decoding: Omit<MessageDecoding, 'name'>;
  /**
   * Decodes messages instead of `decoding`, and may turn messages into partition watermarks (CockroachDB resolved
   * timestamps). Given by the composition root.
   */
  readonly decoder?: KafkaMessageDecoder;
  /** Most messages in one batch. */
  readonly batchRecords: number;
  /** Messages one partition may hold (buffered plus unacknowledged) before it is paused; resumed at half. */
  readonly maxPendingPerPartition: number;
  /** How often acknowledged offsets are committed, at most, in milliseconds. */
  readonly commitIntervalMs: number;
  /**
   * Longest a revoke waits for the revoked partitions' batches to be acknowledged, and a close for the group to take
   * its commit, in milliseconds.
   */
  readonly revokeTimeoutMs: number;
  /** Longest a connect waits for the cluster's metadata, in milliseconds. */
  readonly connectTimeoutMs: number;
  /** Longest one librdkafka poll waits for the next message, in milliseconds (it holds a libuv worker thread meanwhile). */
  readonly pollTimeoutMs: number;
  /** librdkafka properties passed through (TLS, SASL, tuning). Never logged. */
  readonly settings: Readonly<Record<string, SettingValue>>;
}

/** The consumer lag of one owned partition. */
export interface KafkaPartitionLag {
  readonly topic: string;
  readonly partition: number;
  /** The partition's high watermark (offset of the next message produced), as last seen by the fetcher. */
  readonly highWatermark: number | null;
  /** The group's committed offset (null when the group never committed this partition). */
  readonly committed: number | null;
  /** The offset after the last message received. */
  readonly position: number | null;
  /** `highWatermark − committed`: messages not yet safely handled. */
  readonly lag: number | null;
  /** `highWatermark − position`: messages not yet fetched. */
  readonly fetchLag: number | null;
  /** True while Sluice holds the partition paused because too many of its records are in flight. */
  readonly paused: boolean;
}

/** One partition's share of a batch, for its acknowledgement. */
interface BatchPart {
  readonly state: PartitionState;
  readonly id: number;
  /** Offset after the part's last message. */
  readonly end: number;
  /** Messages of the partition in the batch (records and rejected). */
  readonly count: number;
}

/**
 * librdkafka defaults that keep the consumer's own queues small and rebalances incremental (a rebalance only moves
 * the partitions that change owner, and their revoke runs while the group is stable, so its commit is accepted);
 * `settings` may override them.
 */
const CONSUMER_DEFAULTS: Record<string, SettingValue> = {
  'partition.assignment.strategy': 'cooperative-sticky',
  // Prefetch at most 16 MB (librdkafka's default is 64 MB); a lower `queued.min.messages` would cut throughput tenfold.
  'queued.max.messages.kbytes': 16_384,
  // Topics created after the pipeline started (or newly matching topic_pattern) are found within this time.
  'topic.metadata.refresh.interval.ms': 10_000,
};

/**
 * A consumer-group member reading Kafka topics (librdkafka through node-rdkafka).
 *
 * Delivery is at least once. What is guaranteed:
 * - Offsets are never auto-committed. A partition's committed offset is always the end of its contiguous
 *   acknowledged prefix (last acknowledged offset + 1), so everything before it reached every sink or the DLQ.
 *   Commits go out at most every `commitIntervalMs`, on revoke and on close; a crash loses at most the
 *   acknowledgements since the last commit, and those records are read again.
 * - A close commits every acknowledged offset before the member leaves the group, those of partitions revoked
 *   meanwhile included. A group refuses commits while it rebalances, so a refused commit is sent again (polling on,
 *   to serve the rebalance) for up to `revokeTimeoutMs`.
 * - A message that cannot be decoded is handed to the runtime as a dead letter and counts for commit once the
 *   batch is acknowledged (that is, once the DLQ has it).
 * - On revoke, nothing more is handed out from the revoked partitions; the revoke waits up to `revokeTimeoutMs` for
 *   their outstanding batches, commits their acknowledged prefix (and every other owned partition's), then completes.
 *   Batches acknowledged after that are ignored: the new owner reads them again from the committed offset.
 * - Memory is bounded: a partition holding `maxPendingPerPartition` messages (buffered plus unacknowledged) is
 *   paused and resumed when it falls to half, and librdkafka's prefetch queue is capped (`queued.max.messages.kbytes`).
 * - A background loop keeps polling librdkafka (it returns nothing for paused partitions), so rebalances and
 *   commit results are served and `max.poll.interval.ms` never expires while the pipeline is busy downstream.
 * - With a `decoder` that yields watermarks, a batch's `watermark` is the lowest latest watermark over every
 *   partition owned (none while some partition has not sent one yet), emitted only when it rises. Partitions are
 *   then paused on their buffered messages only: records handed out may be held downstream until the next
 *   watermark, which the same partition may have to deliver (the runtime's in-flight budget bounds those).
 *   A partition assigned later holds the watermark back until it sends one of its own.
 */
export class KafkaSource implements Source {
  readonly bounded = false;
  readonly #options: KafkaSourceOptions;
  #context: SourceContext | undefined;
  #logger: Logger | undefined;
  #consumer: Kafka.KafkaConsumer | undefined;
  readonly #states = new Map<string, PartitionState>();
  /** Messages received and not handed out, in arrival order, from `#head` on. */
  #buffer: Message[] = [];
  #head = 0;
  #failure: SluiceError | undefined;
  #waiters: (() => void)[] = [];
  #running = false;
  #polling: Promise<void> = Promise.resolve();
  #rebalancing: Promise<void> = Promise.resolve();
  #commitTimer: NodeJS.Timeout | undefined;
  /** When the close in progress stops trying to commit, in epoch milliseconds (undefined until `close`). */
  #stopDeadline: number | undefined;
  /** True while the consumer disconnects: node-rdkafka refuses commits then. */
  #closing = false;
  /** The librdkafka code of the last commit that failed, for a closing source to tell a rebalance from the rest. */
  #commitFailure: number | undefined;
  #closed: Promise<void> | undefined;
  #cooperative: boolean | undefined;
  readonly #warned = new Set<string>();
  #onAbort: (() => void) | undefined;
  /** The last watermark handed out in this incarnation. */
  #watermark: string | undefined;

  constructor(options: KafkaSourceOptions) {
    this.#options = options;
  }

  async connect(context: SourceContext): Promise<void> {
    const options = this.#options;
    this.#context = context;
    this.#logger = context.logger;
    this.#reset();
    const consumer = new Kafka.KafkaConsumer(
      {
        'client.id': `sluice-${context.pipeline}-${context.name}`,
        ...CONSUMER_DEFAULTS,
        ...options.settings,
        'bootstrap.servers': options.brokers,
        'group.id': options.group,
        'enable.auto.commit': false,
        'enable.auto.offset.store': false,
        rebalance_cb: (error: LibrdKafkaError, assignment: TopicPartition[]) =>
          this.#onRebalance(consumer, error, assignment),
        offset_commit_cb: (error: LibrdKafkaError | undefined, offsets: TopicPartitionOffset[]) =>
          this.#onCommitted(error, offsets),
      },
      { 'auto.offset.reset': options.start },
    );
    consumer.on('event.error', (error) => this.#onClientError(error));
    await connectKafkaClient(consumer, {
      doing: `connecting source "${context.name}" to Kafka brokers ${options.brokers}`,
      timeoutMs: options.connectTimeoutMs,
    });
    consumer.setDefaultConsumeTimeout(options.pollTimeoutMs);
    try {
      consumer.subscribe([...options.topics]);
    } catch (error) {
      consumer.disconnect();
      throw kafkaFailure(
        'KAFKA_SUBSCRIBE_FAILED',
        `subscribing group "${options.group}" to ${options.topics.join(', ')}`,
        error,
      );
    }
    this.#consumer = consumer;
    this.#onAbort = () => this.#notify();
    context.signal.addEventListener('abort', this.#onAbort, { once: true });
    this.#running = true;
    this.#polling = this.#poll(consumer);
    this.#commitTimer = setInterval(() => this.#commit(), options.commitIntervalMs);
    this.#commitTimer.unref();
    context.logger.info(
      { group: options.group, topics: options.topics },
      `kafka source "${context.name}" subscribed`,
    );
  }

  async read(): Promise<SourceBatch | null> {
    const context = this.#context;
    if (this.#consumer === undefined || context === undefined || this.#closed !== undefined)
      throw new NotConnectedError(`kafka source "${context?.name ?? '?'}"`);
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (context.signal.aborted || this.#closed !== undefined) return null;
      if (this.#head < this.#buffer.length) return this.#takeBatch(context.name);
      await this.#nextChange(1_000);
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  /** Consumer lag (high watermark − committed offset) of every owned partition whose lag is known. */
  backlog(): SourceBacklog[] {
    const backlog: SourceBacklog[] = [];
    for (const { topic, partition, lag } of this.lag())
      if (lag !== null) backlog.push({ partition: `${topic}/${partition}`, records: lag });
    return backlog;
  }

  /** Consumer lag of every partition this member owns now. */
  lag(): KafkaPartitionLag[] {
    const consumer = this.#consumer;
    const lags: KafkaPartitionLag[] = [];
    for (const state of this.#states.values()) {
      let highWatermark: number | null = null;
      try {
        const high = consumer?.getWatermarkOffsets(state.topic, state.partition).highOffset;
        if (high !== undefined && high >= 0) highWatermark = high;
      } catch {
        // Not connected, or no fetch yet for this partition: the watermark is unknown.
      }
      lags.push({
        topic: state.topic,
        partition: state.partition,
        highWatermark,
        committed: state.committed,
        position: state.next,
        lag:
          highWatermark === null || state.committed === null
            ? null
            : Math.max(0, highWatermark - state.committed),
        fetchLag:
          highWatermark === null || state.next === null ? null : Math.max(0, highWatermark - state.next),
        paused: state.paused,
      });
    }
    return lags;
  }

  #reset(): void {
    this.#forgetPartitions();
    this.#buffer = [];
    this.#head = 0;
    this.#failure = undefined;
    this.#stopDeadline = undefined;
    this.#closing = false;
    this.#closed = undefined;
    this.#cooperative = undefined;
    this.#rebalancing = Promise.resolve();
    this.#warned.clear();
    this.#watermark = undefined;
  }

  async #shutdown(): Promise<void> {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    clearInterval(this.#commitTimer);
    if (this.#onAbort) this.#context?.signal.removeEventListener('abort', this.#onAbort);
    this.#stopDeadline = Date.now() + this.#options.revokeTimeoutMs;
    this.#notify();
    // Polling goes on meanwhile: it serves the commits' answers and the rebalance in progress, if any.
    await this.#commitBeforeLeaving(this.#stopDeadline);
    await this.#rebalancing;
    this.#running = false;
    await this.#polling;
    this.#closing = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      consumer.disconnect(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    await this.#rebalancing;
    this.#forgetPartitions();
    this.#buffer = [];
    this.#head = 0;
    this.#consumer = undefined;
  }

  /** Marks every owned partition's state revoked and drops it: acknowledgements of its batches are then ignored. */
  #forgetPartitions(): void {
    for (const state of this.#states.values()) state.revoked = true;
    this.#states.clear();
  }

  /**
   * Commits every owned partition's acknowledged prefix before the member leaves the group, sending a refused commit
   * again until the group takes it or `deadline` passes.
   */
  async #commitBeforeLeaving(deadline: number): Promise<void> {
    for (;;) {
      this.#commitFailure = undefined;
      await this.#commitAnswered([...this.#states.values()], deadline);
      const uncommitted = [...this.#states.values()].filter((state) => state.commitPending);
      if (uncommitted.length === 0) return;
      const failure = this.#commitFailure;
      if (Date.now() >= deadline || (failure !== undefined && !REBALANCE_ERRORS.has(failure))) {
        this.#logger?.warn(
          { partitions: uncommitted.map((state) => PartitionState.keyOf(state.topic, state.partition)) },
          `kafka source "${this.#context?.name}" could not commit its last acknowledged offsets before closing; the next owner reads those records again`,
        );
        return;
      }
      if (failure !== undefined)
        await new Promise((resolve) => setTimeout(resolve, Math.min(COMMIT_RETRY_MS, deadline - Date.now())));
    }
  }

  /**
   * Commits the acknowledged prefix of `states` the group may not have yet, and resolves once every commit sent is
   * answered, or at `deadline`. A commit already in flight is waited for first: it may yet fail.
   */
  async #commitAnswered(states: readonly PartitionState[], deadline: number): Promise<void> {
    await this.#commitsAnswered(states, deadline);
    this.#commit(states);
    await this.#commitsAnswered(states, deadline);
  }

  /** Resolves once no commit of `states` awaits its answer, or at `deadline`. */
  async #commitsAnswered(states: readonly PartitionState[], deadline: number): Promise<void> {
    while (Date.now() < deadline && states.some((state) => state.commitUnanswered)) {
      await this.#nextChange(deadline - Date.now());
    }
  }

  async #poll(consumer: Kafka.KafkaConsumer): Promise<void> {
    const { batchRecords, pollTimeoutMs } = this.#options;
    let idleWaitMs = FIRST_IDLE_WAIT_MS;
    let idle = false;
    while (this.#running) {
      // While messages flow, librdkafka waits up to pollTimeoutMs for a poll's batch to fill; while idle, not at all.
      consumer.setDefaultConsumeTimeout(idle ? 0 : pollTimeoutMs);
      const { error, messages } = await new Promise<{ error?: LibrdKafkaError; messages: Message[] }>(
        (resolve) =>
          consumer.consume(batchRecords, (failure, batch) =>
            resolve(failure ? { error: failure, messages: [] } : { messages: batch }),
          ),
      );
      if (error !== undefined) this.#onClientError(error);
      if (messages.length === 0) {
        // Idle: wait here rather than in librdkafka, so the poll does not hold a libuv worker thread.
        await new Promise((resolve) => setTimeout(resolve, idleWaitMs));
        idleWaitMs = Math.min(idleWaitMs * 2, LONGEST_IDLE_WAIT_MS);
        idle = true;
        continue;
      }
      idleWaitMs = FIRST_IDLE_WAIT_MS;
      idle = false;
      if (!(await this.#prepared(messages))) break;
      const touched = new Set<PartitionState>();
      for (const message of messages) {
        const state = this.#states.get(PartitionState.keyOf(message.topic, message.partition));
        // Messages of partitions being revoked are dropped: the next owner reads them from the committed offset.
        if (state === undefined || state.revoking) continue;
        this.#buffer.push(message);
        state.buffered++;
        state.next = message.offset + 1;
        touched.add(state);
      }
      for (const state of touched) this.#balance(state);
      this.#notify();
    }
  }

  /**
   * Waits until the decoder has what decoding `messages` needs (see `KafkaMessageDecoder.prepare`), retrying a
   * failure with growing pauses; false when the source stopped meanwhile.
   */
  async #prepared(messages: readonly Message[]): Promise<boolean> {
    const decoder = this.#options.decoder;
    if (decoder?.prepare === undefined) return true;
    let pauseMs = FIRST_PREPARE_RETRY_MS;
    while (this.#running) {
      try {
        await decoder.prepare(messages);
        return true;
      } catch (error) {
        this.#logger?.warn(
          { err: error },
          `kafka source "${this.#context?.name ?? ''}" holds ${messages.length} messages it cannot decode yet, trying again in ${pauseMs} ms: ${messageOf(error)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
        pauseMs = Math.min(pauseMs * 2, LONGEST_PREPARE_RETRY_MS);
      }
    }
    return false;
  }

  #takeBatch(name: string): SourceBatch {
    const end = Math.min(this.#buffer.length, this.#head + this.#options.batchRecords);
    const messages = this.#buffer.slice(this.#head, end);
    this.#head = end;
    if (this.#head === this.#buffer.length) {
      this.#buffer = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#buffer.length) {
      this.#buffer = this.#buffer.slice(this.#head);
      this.#head = 0;
    }
    const now = Date.now();
    const records: ChangeRecord[] = [];
    const recordStates: PartitionState[] = [];
    const recordOffsets: number[] = [];
    const rejected: DeadLetter[] = [];
    const ranges = new Map<PartitionState, { end: number; count: number }>();
    const { decoder } = this.#options;
    const decoding = { ...this.#options.decoding, name };
    let bytes = 0;
    for (const message of messages) {
      const state = this.#states.get(PartitionState.keyOf(message.topic, message.partition))!;
      state.buffered--;
      state.pending++;
      bytes += message.size + (message.key?.length ?? 0);
      const range = ranges.get(state);
      if (range === undefined) ranges.set(state, { end: message.offset + 1, count: 1 });
      else {
        range.end = message.offset + 1;
        range.count++;
      }
      try {
        if (decoder === undefined) records.push(messageToRecord(message, decoding, now));
        else {
          const decoded = decoder.decode(message, name, now);
          if ('watermark' in decoded) {
            if (
              state.watermark === undefined ||
              decoder.compareWatermarks(decoded.watermark, state.watermark) > 0
            )
              state.watermark = decoded.watermark;
            continue;
          }
          records.push(decoded.record);
        }
        recordStates.push(state);
        recordOffsets.push(message.offset);
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        rejected.push({
          node: name,
          reason: `${error.message} (at ${messagePosition(message)})`,
          source: { name, position: messagePosition(message) },
          raw: message.value ?? (typeof message.key === 'string' ? message.key : (message.key ?? undefined)),
        });
      }
    }
    const parts: BatchPart[] = [];
    for (const [state, range] of ranges)
      parts.push({ state, id: state.tracker.track(range.end), end: range.end, count: range.count });
    let acked = false;
    const watermark = decoder === undefined ? undefined : this.#risenWatermark(decoder);
    return {
      records,
      ...(rejected.length > 0 ? { rejected } : {}),
      ...(watermark === undefined ? {} : { watermark }),
      bytes,
      ack: (count?: number) => {
        if (acked) return;
        acked = true;
        try {
          this.#acknowledge(
            parts,
            count === undefined || count >= records.length
              ? undefined
              : { count, recordStates, recordOffsets },
          );
        } catch (error) {
          this.#logger?.error({ err: error }, `kafka source "${name}" failed to record an acknowledgement`);
        }
      },
    };
  }

  /** The lowest partition watermark, when every owned partition has one and it is above the last one handed out. */
  #risenWatermark(decoder: KafkaMessageDecoder): string | undefined {
    let lowest: string | undefined;
    for (const state of this.#states.values()) {
      if (state.revoking) continue;
      if (state.watermark === undefined) return undefined;
      if (lowest === undefined || decoder.compareWatermarks(state.watermark, lowest) < 0)
        lowest = state.watermark;
    }
    if (lowest === undefined) return undefined;
    if (this.#watermark !== undefined && decoder.compareWatermarks(lowest, this.#watermark) <= 0)
      return undefined;
    this.#watermark = lowest;
    return lowest;
  }

  #acknowledge(
    parts: readonly BatchPart[],
    partial: { count: number; recordStates: PartitionState[]; recordOffsets: number[] } | undefined,
  ): void {
    for (const part of parts) {
      const { state } = part;
      state.pending -= part.count;
      if (state.revoked) continue;
      // A partial acknowledgement that leaves records of this partition unhandled commits up to the first of them,
      // and the tracker never moves past it (they must be read again).
      const first = partial === undefined ? -1 : partial.recordStates.indexOf(state, partial.count);
      if (first >= 0) state.tracker.ack(part.id, partial!.recordOffsets[first]);
      else state.tracker.ack(part.id);
      this.#balance(state);
    }
    this.#notify();
  }

  /** Pauses a partition holding too many messages; resumes it once it holds half as many. */
  #balance(state: PartitionState): void {
    const consumer = this.#consumer;
    if (consumer === undefined || state.revoking) return;
    const bound = this.#options.maxPendingPerPartition;
    const toppar = [{ topic: state.topic, partition: state.partition }];
    const load = this.#options.decoder === undefined ? state.load : state.buffered;
    try {
      if (!state.paused && load >= bound) {
        consumer.pause(toppar);
        state.paused = true;
      } else if (state.paused && load <= bound / 2) {
        consumer.resume(toppar);
        state.paused = false;
      }
    } catch (error) {
      this.#warnOnce(
        `pause:${messageOf(error)}`,
        error,
        `could not pause or resume ${PartitionState.keyOf(state.topic, state.partition)}`,
      );
    }
  }

  /**
   * Sends each partition's acknowledged prefix when it moved since the last commit sent. The commit is asynchronous
   * (`commitSync` would hold the event loop, for seconds while the group rebalances): `#onCommitted` gets its answer.
   */
  #commit(states: Iterable<PartitionState> = this.#states.values()): void {
    const consumer = this.#consumer;
    if (consumer === undefined) return;
    const offsets: TopicPartitionOffset[] = [];
    const committing: PartitionState[] = [];
    for (const state of states) {
      const offset = state.commitOffset;
      if (state.revoked || offset === undefined || offset === state.commitSent) continue;
      offsets.push({ topic: state.topic, partition: state.partition, offset });
      committing.push(state);
    }
    if (offsets.length === 0) return;
    try {
      consumer.commit(offsets);
      committing.forEach((state, index) => (state.commitSent = offsets[index]!.offset));
    } catch (error) {
      this.#commitFailure = kafkaErrorCode(error) ?? ERRORS.ERR__FAIL;
      this.#warnOnce(
        `commit:${messageOf(error)}`,
        error,
        'could not commit offsets; they are committed later or read again',
      );
    }
  }

  #onCommitted(error: LibrdKafkaError | undefined, offsets: TopicPartitionOffset[]): void {
    if (error && error.code !== ERRORS.ERR__NO_OFFSET) {
      this.#commitFailure = error.code;
      this.#warnOnce(
        `commit:${error.code}`,
        error,
        'an offset commit failed; it is retried with the next commit',
      );
      for (const offset of offsets) {
        const state = this.#states.get(PartitionState.keyOf(offset.topic, offset.partition));
        if (state?.commitSent === offset.offset) state.commitSent = undefined;
      }
    } else {
      for (const offset of offsets) {
        const state = this.#states.get(PartitionState.keyOf(offset.topic, offset.partition));
        if (state !== undefined && offset.offset >= 0)
          state.committed = Math.max(state.committed ?? 0, offset.offset);
      }
    }
    this.#notify();
  }

  #onRebalance(consumer: Kafka.KafkaConsumer, error: LibrdKafkaError, assignment: TopicPartition[]): void {
    const code = kafkaErrorCode(error);
    if (consumer !== this.#consumer) {
      // The consumer of an earlier connection, whose close stopped waiting for its disconnect: it owns no state here,
      // and its disconnect waits for the revoke to be completed.
      if (code !== ERRORS.ERR__ASSIGN_PARTITIONS) {
        try {
          if (consumer.rebalanceProtocol() === 'COOPERATIVE') consumer.incrementalUnassign(assignment);
          else consumer.unassign();
        } catch (failure) {
          this.#warnOnce(`unassign:${messageOf(failure)}`, failure, 'could not complete a revoke');
        }
      }
      return;
    }
    if (this.#cooperative === undefined) {
      try {
        this.#cooperative = consumer.rebalanceProtocol() === 'COOPERATIVE';
      } catch {
        // Asked again at the next rebalance.
      }
    }
    const step =
      code === ERRORS.ERR__ASSIGN_PARTITIONS
        ? async () => this.#assign(consumer, assignment)
        : code === ERRORS.ERR__REVOKE_PARTITIONS
          ? () => this.#revoke(consumer, assignment)
          : () => {
              this.#logger?.warn(
                { err: error },
                `kafka source "${this.#context?.name}": rebalance failed; giving up the assignment`,
              );
              return this.#revoke(consumer, [...this.#states.values()]);
            };
    this.#rebalancing = this.#rebalancing.then(step).catch((failure: unknown) => {
      this.#failure ??= kafkaFailure(
        'KAFKA_REBALANCE_FAILED',
        `rebalancing group "${this.#options.group}"`,
        failure,
      );
      this.#notify();
    });
  }

  #assign(consumer: Kafka.KafkaConsumer, assignment: TopicPartition[]): void {
    for (const { topic, partition } of assignment)
      this.#states.set(PartitionState.keyOf(topic, partition), new PartitionState(topic, partition));
    if (this.#cooperative === true) consumer.incrementalAssign(assignment);
    else consumer.assign(assignment);
    // The group's committed offsets, for lag until this member commits (librdkafka resumes from them by itself).
    consumer.committed(assignment, 5_000, (error, offsets) => {
      if (error) return;
      for (const offset of offsets) {
        const state = this.#states.get(PartitionState.keyOf(offset.topic, offset.partition));
        if (
          state !== undefined &&
          state.committed === null &&
          typeof offset.offset === 'number' &&
          offset.offset >= 0
        )
          state.committed = offset.offset;
      }
    });
    this.#logger?.info(
      { partitions: assignment.map((toppar) => PartitionState.keyOf(toppar.topic, toppar.partition)) },
      `kafka source "${this.#context?.name}" assigned partitions`,
    );
  }

  async #revoke(consumer: Kafka.KafkaConsumer, assignment: readonly TopicPartition[]): Promise<void> {
    const states = assignment.flatMap(
      (toppar) => this.#states.get(PartitionState.keyOf(toppar.topic, toppar.partition)) ?? [],
    );
    for (const state of states) state.revoking = true;
    this.#dropBuffered(new Set(states));
    const deadline = Math.min(Date.now() + this.#options.revokeTimeoutMs, this.#stopDeadline ?? Infinity);
    // A closing source waits for no more acknowledgements: the pipeline drained before it closed.
    while (
      this.#stopDeadline === undefined &&
      Date.now() < deadline &&
      states.some((state) => state.tracker.pending > 0)
    ) {
      await this.#nextChange(deadline - Date.now());
    }
    const outstanding = states.reduce((sum, state) => sum + state.tracker.pending, 0);
    if (outstanding > 0 && this.#stopDeadline === undefined) {
      this.#logger?.warn(
        `kafka source "${this.#context?.name}": ${outstanding} batch(es) of revoked partitions were not acknowledged within ${this.#options.revokeTimeoutMs} ms; the new owner reads them again`,
      );
    }
    // Every owned partition's prefix, not only the revoked ones': the group takes commits now, and refuses them while
    // the rebalance that follows runs, which a closing source may not outlast. While the consumer disconnects,
    // node-rdkafka refuses commits: the close committed before.
    if (!this.#closing) await this.#commitAnswered([...this.#states.values()], deadline);
    for (const state of states) {
      if (state.paused) {
        try {
          consumer.resume([{ topic: state.topic, partition: state.partition }]);
        } catch {
          // The consumer is closing: nothing stays paused.
        }
      }
      // A closing source keeps what the group refused to commit, and commits it before it leaves: the new owner then
      // reads less again, or, if it committed more meanwhile, some records twice (at least once allows both).
      if (this.#stopDeadline !== undefined && state.commitPending) continue;
      state.revoked = true;
      this.#states.delete(PartitionState.keyOf(state.topic, state.partition));
    }
    try {
      if (this.#cooperative === true) consumer.incrementalUnassign([...assignment]);
      else consumer.unassign();
    } catch (error) {
      this.#warnOnce(`unassign:${messageOf(error)}`, error, 'could not complete a revoke');
    }
    this.#logger?.info(
      { partitions: states.map((state) => PartitionState.keyOf(state.topic, state.partition)) },
      `kafka source "${this.#context?.name}" revoked partitions`,
    );
  }

  #dropBuffered(states: ReadonlySet<PartitionState>): void {
    const kept: Message[] = [];
    for (let index = this.#head; index < this.#buffer.length; index++) {
      const message = this.#buffer[index]!;
      const state = this.#states.get(PartitionState.keyOf(message.topic, message.partition));
      if (state !== undefined && states.has(state)) state.buffered--;
      else kept.push(message);
    }
    this.#buffer = kept;
    this.#head = 0;
  }

  #onClientError(error: unknown): void {
    const fatal = typeof error === 'object' && error !== null && 'isFatal' in error && error.isFatal === true;
    if (fatal) {
      this.#failure ??= kafkaFailure('KAFKA_CONSUMER_FAILED', `kafka source "${this.#context?.name}"`, error);
      this.#notify();
      return;
    }
    this.#warnOnce(
      `client:${kafkaErrorCode(error) ?? messageOf(error)}`,
      error,
      'librdkafka reported an error; it keeps retrying',
    );
  }

  /** Logs a warning the first time a kind of problem occurs in this incarnation (librdkafka repeats them). */
  #warnOnce(kind: string, error: unknown, message: string): void {
    if (this.#warned.has(kind)) return;
    this.#warned.add(kind);
    this.#logger?.warn({ err: error }, `kafka source "${this.#context?.name}": ${message}`);
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Resolves at the next poll, acknowledgement, failure or abort, or after `timeoutMs`. */
  #nextChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, Math.max(1, timeoutMs));
      this.#waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
