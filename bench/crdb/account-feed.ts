import { Checksum } from '../checksum.js';

/** Partitions of every mock-cluster topic. */
export const PARTITIONS = 4;
/** Change messages per topic: enriched messages are ~560 bytes and the mock cluster keeps ~5 MB a partition. */
const CHANGES_PER_TOPIC = 25_000;
/** A resolved timestamp is sent to every partition of every topic after this many change messages. */
const RESOLVED_EVERY = 2_000;
/** Every this-many-th change message replays an earlier change (a changefeed duplicate, out of order). */
const REPLAY_EVERY = 10;
const START_WALL = 1_747_243_394_200_039_000n;

/** One Kafka message of the feed: a change on its key's partition, or a resolved timestamp (null key). */
export interface FeedMessage {
  readonly topic: number;
  readonly partition: number;
  readonly key: string | null;
  readonly value: string;
}

/** One account row as the target holds it: every field as text, `hlc` being the newer-wins version. */
export interface AccountRow {
  readonly id: string;
  readonly name: string;
  readonly balance: string;
  readonly hlc: string;
}

/** Topics the feed of `changes` change messages is spread over. */
export function feedTopics(changes: number): number {
  return Math.max(1, Math.ceil(changes / CHANGES_PER_TOPIC));
}

/**
 * The `crdb-kafka-pg` scenario's changefeed, as CockroachDB's Kafka sink emits it with
 * `envelope=enriched, enriched_properties=source, updated, resolved`: `changes` change messages over `changes / 4`
 * accounts (so most are updates), each tenth one a replay of an earlier message, and after every 2 000 a resolved
 * timestamp on every partition of every topic, plus a last one covering everything. Deterministic. Calls `emit`
 * for each message in order and returns the final rows (the newest change of each account), sorted by id.
 */
export function accountFeed(changes: number, emit: (message: FeedMessage) => void): AccountRow[] {
  const topics = feedTopics(changes);
  const keys = Math.max(1, Math.floor(changes / 4));
  const rows = new Map<number, AccountRow>();
  const sent: FeedMessage[] = [];
  let seed = 0x5eed;
  const random = (): number => {
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0;
    return seed / 4_294_967_296;
  };
  let wall = START_WALL;
  const resolved = (): void => {
    const value = `{"resolved": "${wall}.0000000000"}`;
    for (let topic = 0; topic < topics; topic++)
      for (let partition = 0; partition < PARTITIONS; partition++)
        emit({ topic, partition, key: null, value });
  };
  for (let index = 0; index < changes; index++) {
    if (index % REPLAY_EVERY === REPLAY_EVERY - 1 && sent.length > 0) {
      emit(sent[Math.floor(random() * sent.length)]!);
    } else {
      wall += BigInt(1_000 + Math.floor(random() * 4_000));
      const id = 1 + Math.floor(random() * keys);
      const hlc = `${wall}.0000000000`;
      const cents = Math.floor(random() * 10_000_000);
      const row: AccountRow = {
        id: String(id),
        name: `holder-${id}-${index}`,
        balance: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
        hlc,
      };
      const op = rows.has(id) ? 'u' : 'c';
      rows.set(id, row);
      const message: FeedMessage = {
        topic: id % topics,
        partition: Math.floor(id / topics) % PARTITIONS,
        key: `{"id": ${id}}`,
        value: enrichedValue(row, op, wall),
      };
      sent.push(message);
      emit(message);
    }
    if ((index + 1) % RESOLVED_EVERY === 0) resolved();
  }
  wall += 1_000n;
  resolved();
  return [...rows.values()].sort((a, b) => Number(a.id) - Number(b.id));
}

function enrichedValue(row: AccountRow, op: 'c' | 'u', wall: bigint): string {
  const source =
    `{"changefeed_sink": "kafka", "cluster_id": "585e6512-ea54-490a-8f1d-50c8d182a2e6", "cluster_name": "bench", ` +
    `"database_name": "bank", "db_version": "v25.2.0", "job_id": "1068153948173991937", "node_id": "1", ` +
    `"node_name": "crdb-1", "origin": "cockroachdb", "primary_keys": ["id"], "schema_name": "public", ` +
    `"source_node_locality": "region=eu", "table_name": "accounts", "ts_hlc": "${row.hlc}", "ts_ns": ${wall}}`;
  return (
    `{"after": {"balance": ${row.balance}, "id": ${row.id}, "name": "${row.name}"}, "op": "${op}", ` +
    `"source": ${source}, "ts_ns": ${wall + 5_000_000n}}`
  );
}

/** The checksum of account rows (any order): id, name, balance and version. */
export function accountsChecksum(rows: Iterable<AccountRow>): Checksum {
  const checksum = new Checksum();
  for (const row of rows) checksum.add(`${row.id}|${row.name}|${row.balance}|${row.hlc}`);
  return checksum;
}
