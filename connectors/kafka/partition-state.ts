import { AckTracker } from '../../runtime/ack-tracker.js';

/**
 * What the Kafka source knows about one partition it owns: batches handed out and acknowledged (an
 * {@link AckTracker} of "next offset to read" positions), messages buffered locally, whether it is paused for
 * backpressure, and the offsets committed. A new object is made on every assignment, and the old one is marked
 * `revoked` when its partition is revoked or its connection closes, so acknowledgements of batches read under an
 * earlier assignment or connection are ignored.
 */
export class PartitionState {
  readonly topic: string;
  readonly partition: number;
  /** Positions to commit (offset after the batch's last message of this partition), per batch handed out. */
  readonly tracker = new AckTracker<number>();
  /** Messages received and not yet handed out in a batch. */
  buffered = 0;
  /** Messages handed out in batches not yet acknowledged. */
  pending = 0;
  /** True while Sluice has paused fetching for backpressure. */
  paused = false;
  /** True from the moment a revoke starts: nothing more is handed out from this partition. */
  revoking = false;
  /** True once revoked or closed with its connection: late acknowledgements are ignored. */
  revoked = false;
  /** The offset of the last commit sent and not known to have failed. */
  commitSent: number | undefined;
  /** The group's committed offset as last known (read at assignment, then from this member's commits), for lag. */
  committed: number | null = null;
  /** The offset after the last message received, for lag. */
  next: number | null = null;
  /** The highest watermark a message of this partition carried (with a watermark-producing decoder). */
  watermark: string | undefined;

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  /** `topic/partition`, the map key. */
  static keyOf(topic: string, partition: number): string {
    return `${topic}/${partition}`;
  }

  /** The offset that may be committed now: the end of the acknowledged prefix. */
  get commitOffset(): number | undefined {
    return this.tracker.committable;
  }

  /** True while the acknowledged prefix is ahead of the offset the group is known to have committed. */
  get commitPending(): boolean {
    return this.commitOffset !== undefined && this.commitOffset !== this.committed;
  }

  /** True while a commit was sent and is neither confirmed nor known to have failed. */
  get commitUnanswered(): boolean {
    return this.commitSent !== undefined && this.commitSent !== this.committed;
  }

  /** Messages held for this partition: buffered plus handed out and unacknowledged. */
  get load(): number {
    return this.buffered + this.pending;
  }
}
