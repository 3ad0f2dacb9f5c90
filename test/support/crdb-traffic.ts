import type pg from 'pg';
import { messageOf } from '../../runtime/errors.js';

/** One row of the generated `accounts` table, as the checks read it back (`balance` as numeric text). */
export interface AccountRow {
  readonly id: number;
  readonly name: string;
  readonly balance: string;
  /** The column that appears half-way through the feed (a schema change); null before. */
  readonly tier: string | null;
}

/** One change to a row, with its commit HLC. */
export interface TrafficChange {
  readonly id: number;
  readonly op: 'c' | 'u' | 'd';
  /** The row after the change; null for a delete. */
  readonly after: AccountRow | null;
  readonly hlc: string;
  /** The partition the changefeed's Kafka sink puts this key on. */
  readonly partition: number;
}

/** What a changefeed emits, in order: a new change, a replay of an earlier one (a duplicate), or a resolved timestamp. */
export type TrafficEvent =
  | { readonly kind: 'change'; readonly change: TrafficChange }
  | { readonly kind: 'duplicate'; readonly change: TrafficChange }
  | { readonly kind: 'resolved'; readonly hlc: string };

/** A generated changefeed history and the source table's states along it. */
export interface ChangefeedTraffic {
  readonly events: readonly TrafficEvent[];
  /** The source table after every change, sorted by id. */
  readonly finalState: readonly AccountRow[];
  /** The source table at each resolved timestamp (and the empty table before any), each sorted by id. */
  readonly resolvedStates: readonly (readonly AccountRow[])[];
  /** Changes (not duplicates) in the history. */
  readonly changes: number;
}

/** How much traffic to generate. */
export interface TrafficOptions {
  readonly keys: number;
  readonly changes: number;
  /** A resolved timestamp after every this many changes (and one at the end). */
  readonly resolvedEvery: number;
  readonly partitions: number;
  readonly seed: number;
}

const START_WALL = 1_747_243_394_200_039_000n;

/**
 * A deterministic changefeed history of an `accounts` table: inserts, updates and deletes of random keys (some
 * with several changes at the same wall time, ordered by the logical counter), deletes of rows that never existed,
 * a `tier` column that appears half-way, a resolved timestamp every `resolvedEvery` changes, and after each
 * resolved timestamp a few replays of earlier changes (duplicates arriving out of order).
 */
export function generateTraffic(options: TrafficOptions): ChangefeedTraffic {
  let seed = options.seed >>> 0;
  const random = (): number => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const state = new Map<number, AccountRow>();
  const snapshot = (): AccountRow[] => [...state.values()].sort((a, b) => a.id - b.id);
  const events: TrafficEvent[] = [];
  const history: TrafficChange[] = [];
  const resolvedStates: AccountRow[][] = [[]];
  let wall = START_WALL;
  let logical = 0;
  const tick = (): string => {
    if (random() < 0.2) logical++;
    else {
      wall += BigInt(1_000 + Math.floor(random() * 5_000));
      logical = 0;
    }
    return `${wall}.${String(logical).padStart(10, '0')}`;
  };
  for (let index = 0; index < options.changes; index++) {
    const hlc = tick();
    const unseen = index % 29 === 13;
    const id = unseen ? options.keys + 1 + index : 1 + Math.floor(random() * options.keys);
    const existing = state.get(id);
    let change: TrafficChange;
    const partition = id % options.partitions;
    if (unseen || (existing !== undefined && random() < 0.25)) {
      state.delete(id);
      change = { id, op: 'd', after: null, hlc, partition };
    } else {
      const cents = Math.floor(random() * 1_000_000);
      const row: AccountRow = {
        id,
        name: `holder-${id}-${index}`,
        balance: `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, '0')}`,
        tier: index >= options.changes / 2 ? ['gold', 'silver', 'bronze'][index % 3]! : null,
      };
      state.set(id, row);
      change = { id, op: existing === undefined ? 'c' : 'u', after: row, hlc, partition };
    }
    history.push(change);
    events.push({ kind: 'change', change });
    const last = index === options.changes - 1;
    if ((index + 1) % options.resolvedEvery === 0 || last) {
      events.push({ kind: 'resolved', hlc: tick() });
      resolvedStates.push(snapshot());
      for (let replay = 0; replay < 3 && !last; replay++) {
        events.push({ kind: 'duplicate', change: history[Math.floor(random() * history.length)]! });
      }
    }
  }
  return { events, finalState: snapshot(), resolvedStates, changes: options.changes };
}

function afterJson(row: AccountRow): string {
  const tier = row.tier === null ? '' : `, "tier": "${row.tier}"`;
  return `{"balance": ${row.balance}, "id": ${row.id}, "name": "${row.name}"${tier}}`;
}

/** A change as the Kafka sink sends it with `envelope=enriched, enriched_properties=source, updated`. */
export function enrichedMessage(change: TrafficChange): { key: string; value: string } {
  const wall = change.hlc.split('.')[0]!;
  const source =
    `{"changefeed_sink": "kafka", "cluster_id": "585e6512-ea54-490a-8f1d-50c8d182a2e6", "database_name": "bank", ` +
    `"job_id": "1068153948173991937", "node_id": "1", "origin": "cockroachdb", "primary_keys": ["id"], ` +
    `"schema_name": "public", "table_name": "accounts", "ts_hlc": "${change.hlc}", "ts_ns": ${wall}}`;
  const after = change.after === null ? 'null' : afterJson(change.after);
  return {
    key: `{"id": ${change.id}}`,
    value: `{"after": ${after}, "op": "${change.op}", "source": ${source}, "ts_ns": ${BigInt(wall) + 7_000_000n}}`,
  };
}

/** A change as the webhook sink sends it (`envelope=wrapped`, `key_in_value`, `topic_in_value`, `updated`). */
export function wrappedMessage(change: TrafficChange): string {
  const after = change.after === null ? 'null' : afterJson(change.after);
  return `{"after": ${after}, "key": [${change.id}], "topic": "accounts", "updated": "${change.hlc}"}`;
}

/** A change as a sinkless changefeed row (`envelope=wrapped, updated`): the key as a JSON array, the value. */
export function sinklessRow(change: TrafficChange): { table: string; key: string; value: string } {
  const after = change.after === null ? 'null' : afterJson(change.after);
  return {
    table: 'accounts',
    key: `[${change.id}]`,
    value: `{"after": ${after}, "updated": "${change.hlc}"}`,
  };
}

/** The rows a Postgres target shows (soft-deleted rows left out), sorted by id, in the shape of {@link AccountRow}. */
export async function targetRows(pool: pg.Pool, table: string): Promise<AccountRow[]> {
  const exists = await pool.query<{ found: boolean }>('SELECT to_regclass($1) IS NOT NULL AS found', [table]);
  if (!exists.rows[0]!.found) return [];
  const columns = await pool.query<{ column_name: string }>(
    'SELECT column_name FROM information_schema.columns WHERE table_name = $1',
    [table],
  );
  const hasTier = columns.rows.some((row) => row.column_name === 'tier');
  const result = await pool.query<{ id: string; name: string; balance: string; tier: string | null }>(
    `SELECT id::text, name, balance::text, ${hasTier ? 'tier' : 'NULL::text AS tier'} FROM ${table} ` +
      'WHERE NOT is_deleted',
  );
  // Sorted here: in SQL, ORDER BY id would sort by the id::text output column.
  return result.rows
    .map((row) => ({ id: Number(row.id), name: row.name, balance: row.balance, tier: row.tier }))
    .sort((a, b) => a.id - b.id);
}

/**
 * Reads the target every 25 ms until it shows `expected`, handing every read to `observe`; rejects when `running`
 * (the pipeline's run) ends first or after `timeoutMs`, with the last rows read.
 */
export async function watchTarget(
  pool: pg.Pool,
  table: string,
  expected: readonly AccountRow[],
  running: Promise<unknown>,
  observe: (rows: AccountRow[]) => void,
  timeoutMs = 60_000,
): Promise<void> {
  let ended: unknown;
  running.then(
    () => (ended ??= new Error('the pipeline finished before the target reached the expected state')),
    (error: unknown) => (ended ??= error),
  );
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await targetRows(pool, table);
    observe(rows);
    if (JSON.stringify(rows) === JSON.stringify(expected)) return;
    if (ended !== undefined) throw ended instanceof Error ? ended : new Error(messageOf(ended));
    if (Date.now() > deadline)
      throw new Error(
        `the target did not reach the expected ${expected.length} rows within ${timeoutMs} ms; last read ${rows.length} rows${difference(rows, expected)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The rows only one of `rows` and `expected` holds, as text for an error message. */
function difference(rows: readonly AccountRow[], expected: readonly AccountRow[]): string {
  const read = new Set(rows.map((row) => JSON.stringify(row)));
  const wanted = new Set(expected.map((row) => JSON.stringify(row)));
  const missing = [...wanted].filter((row) => !read.has(row));
  const extra = [...read].filter((row) => !wanted.has(row));
  return `; missing ${missing.join(' ') || 'none'}; unexpected ${extra.join(' ') || 'none'}`;
}

/** True when `rows` equals one of `states` (the source at some resolved timestamp). */
export function isResolvedState(
  rows: readonly AccountRow[],
  states: readonly (readonly AccountRow[])[],
): boolean {
  const text = JSON.stringify(rows);
  return states.some((state) => JSON.stringify(state) === text);
}
