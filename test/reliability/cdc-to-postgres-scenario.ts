import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { RunningPostgres } from '../../cli/embedded-postgres.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { type ScenarioReport, scenarioLog } from './scenario-report.js';
import { SluiceProcess } from './sluice-process.js';
import { VersionWatch } from './version-watch.js';

/** The fault a {@link runCdcToPostgres} run injects. */
export type CdcScenarioFault =
  /** SIGKILL `sluice run` this many times at random moments while it works, restarting it each time. */
  | { readonly kind: 'kill'; readonly count: number }
  /**
   * Cut every connection between Sluice and the source Postgres (a TCP proxy drops them and refuses new ones) once,
   * mid-run, for `durationMs`; `sluice run` must reconnect by itself.
   */
  | { readonly kind: 'source-outage'; readonly durationMs: number };

/** Options of {@link runCdcToPostgres}. */
export interface CdcScenarioOptions {
  /** The server holding the source and the target databases (created per run). */
  readonly postgres: RunningPostgres;
  /** A directory for the pipeline file, its state and the DLQ file. */
  readonly workDir: string;
  /** Rows in the source table before Sluice starts (read by the initial snapshot). */
  readonly initialRows: number;
  readonly fault: CdcScenarioFault;
  /** Longest wait for the target to converge after the last fault, in milliseconds. */
  readonly convergeTimeoutMs?: number;
  /** Progress lines (default `scenarioLog`: printed with `SLUICE_TEST_LOG`). */
  readonly log?: (line: string) => void;
}

/** Ids of poison rows (the validate rule sends them to the DLQ) start here; they are inserted once, never changed. */
const POISON_BASE = 1_000_000;

const PIPELINE = (names: { slot: string; suffix: string }) => `name: reliability-cdc
sources:
  items_cdc:
    type: postgres_cdc
    url: \${SOURCE_PG_URL}
    tables: [public.items]
    publication: ${names.slot}
    slot: ${names.slot}
    snapshot_chunk_rows: 250
    heartbeat: 200ms
    batch_records: 200
operators:
  checks:
    from: items_cdc
    type: validate
    rules:
      - { name: not_poison, expr: 'after == null || after.payload != "poison"', action: dlq }
sinks:
  warehouse:
    from: checks
    type: postgres
    url: \${TARGET_PG_URL}
    table: public.items
    version_column: _version
    version_from: source.version
    batch: { max_records: 100, max_wait: 20ms }
dlq: { type: file, path: ./dlq-${names.suffix}.jsonl }
runtime:
  state_dir: ./state-${names.suffix}
  sink_write_retries: 12
  restart: { max_attempts: 30, initial_delay: 100ms, max_delay: 1s }
`;

/**
 * Postgres CDC → validate (a DLQ rule for poison rows) → Postgres upsert with newer-wins on `source.version`, the
 * DLQ an append-only JSON Lines file, run as `sluice run` child processes while a writer keeps updating, inserting
 * and deleting source rows and `fault` is injected. At the end the target equals the source without its poison
 * rows, and the DLQ file holds every poison row (at least once) and nothing else.
 */
export async function runCdcToPostgres(options: CdcScenarioOptions): Promise<ScenarioReport> {
  const log = options.log ?? scenarioLog;
  const suffix = randomBytes(4).toString('hex');
  const slot = `reliability_${suffix}`;
  const admin = new pg.Pool({ connectionString: options.postgres.url, max: 1 });
  admin.on('error', () => undefined);
  await admin.query(`CREATE DATABASE "src_${suffix}"`);
  await admin.query(`CREATE DATABASE "dst_${suffix}"`);
  await admin.end();
  const sourcePool = new pg.Pool({ connectionString: options.postgres.urlFor(`src_${suffix}`), max: 2 });
  const targetPool = new pg.Pool({ connectionString: options.postgres.urlFor(`dst_${suffix}`), max: 2 });
  sourcePool.on('error', () => undefined);
  targetPool.on('error', () => undefined);
  const proxy =
    options.fault.kind === 'source-outage'
      ? await TcpProxy.start('127.0.0.1', options.postgres.port)
      : undefined;
  const problems: string[] = [];
  let faults = 0;
  let child: SluiceProcess | undefined;
  let writing = true;
  let writer: Promise<number> | undefined;
  try {
    await sourcePool.query(
      'CREATE TABLE items (id bigint PRIMARY KEY, version bigint NOT NULL, payload text)',
    );
    await targetPool.query(
      'CREATE TABLE items (id bigint PRIMARY KEY, version bigint NOT NULL, payload text, _version numeric)',
    );
    await sourcePool.query(`INSERT INTO items SELECT g, 1, 'v1' FROM generate_series(1, $1::int) AS g`, [
      options.initialRows,
    ]);
    const file = join(options.workDir, `cdc-${suffix}.yaml`);
    await writeFile(file, PIPELINE({ slot, suffix }));
    const sourceUrl = proxy
      ? options.postgres.urlFor(`src_${suffix}`).replace(`:${options.postgres.port}/`, `:${proxy.port}/`)
      : options.postgres.urlFor(`src_${suffix}`);
    const env = { SOURCE_PG_URL: sourceUrl, TARGET_PG_URL: options.postgres.urlFor(`dst_${suffix}`) };

    const poison: number[] = [];
    writer = (async () => {
      let transactions = 0;
      let nextId = options.initialRows + 1;
      while (writing) {
        const client = await sourcePool.connect();
        try {
          await client.query('BEGIN');
          const roll = Math.random();
          if (roll < 0.05) {
            const id = POISON_BASE + poison.length;
            await client.query(`INSERT INTO items VALUES ($1, 1, 'poison')`, [id]);
            poison.push(id);
          } else if (roll < 0.1) {
            await client.query(
              `INSERT INTO items SELECT g, 1, 'v1' FROM generate_series($1::bigint, $1::bigint + 9) AS g`,
              [nextId],
            );
            nextId += 10;
          } else if (roll < 0.13) {
            await client.query(
              `DELETE FROM items WHERE id = (SELECT id FROM items WHERE id < $1 ORDER BY random() LIMIT 1)`,
              [POISON_BASE],
            );
          } else {
            // Several changes to the same rows in one transaction: newer-wins must keep the last.
            await client.query(
              `UPDATE items SET version = version + 1, payload = 'v' || (version + 1) WHERE id IN (SELECT id FROM items WHERE id < $1 ORDER BY random() LIMIT 20)`,
              [POISON_BASE],
            );
            await client.query(
              `UPDATE items SET version = version + 1, payload = 'v' || (version + 1) WHERE id = (SELECT min(id) FROM items)`,
            );
          }
          await client.query('COMMIT');
          transactions++;
        } finally {
          client.release();
        }
        await sleep(5);
      }
      return transactions;
    })();

    const watch = new VersionWatch(targetPool, 'SELECT id::text AS key, version::text AS version FROM items');
    const progress = async () =>
      (
        await targetPool.query<{ n: string }>(
          "SELECT count(*)::text || '/' || coalesce(sum(version), 0)::text AS n FROM items",
        )
      ).rows[0]!.n;
    const incarnations = options.fault.kind === 'kill' ? options.fault.count + 1 : 1;
    for (let incarnation = 0; incarnation < incarnations; incarnation++) {
      const before = await progress();
      child = SluiceProcess.start(['run', file], env);
      await child.waitFor(/"msg":"pipeline starting"/);
      if (options.fault.kind === 'kill' && incarnation < incarnations - 1) {
        // Wait until this incarnation has written something, then kill it at a random moment of its work.
        const deadline = Date.now() + 30_000;
        while ((await progress()) === before && Date.now() < deadline && child.running) await sleep(20);
        await sleep(Math.random() * 400);
        const exit = await child.kill('SIGKILL');
        if (exit.signal !== 'SIGKILL')
          problems.push(`incarnation ${incarnation} ended before the kill: ${child.output.slice(-2000)}`);
        faults++;
        log(`kill ${faults}: ${(await watch.snapshot()).size} rows in the target`);
      } else if (options.fault.kind === 'source-outage') {
        await child.waitFor(/"msg":"streaming started"/, 60_000);
        await sleep(300 + Math.random() * 500);
        proxy!.cut();
        faults++;
        log(`source connections cut for ${options.fault.durationMs} ms`);
        await sleep(options.fault.durationMs);
        proxy!.restore();
        log('source connections allowed again');
        if (!child.running) problems.push(`sluice exited during the outage: ${child.output.slice(-3000)}`);
        await watch.snapshot();
      }
    }
    await sleep(500);
    writing = false;
    const transactions = await writer;
    writer = undefined;

    // Converge: the target equals the source without the poison rows.
    const contents = (pool: pg.Pool) =>
      pool
        .query<{ rows: string }>(
          `SELECT coalesce(jsonb_agg(jsonb_build_array(id, version, payload) ORDER BY id), '[]')::text AS rows FROM items WHERE id < ${POISON_BASE}`,
        )
        .then((result) => result.rows[0]!.rows);
    const expected = await contents(sourcePool);
    const deadline = Date.now() + (options.convergeTimeoutMs ?? 60_000);
    let actual = await contents(targetPool);
    while (actual !== expected && Date.now() < deadline && child!.running) {
      await sleep(200);
      actual = await contents(targetPool);
    }
    await watch.snapshot();
    // The DLQ file is appended after the target's batch may have been written: give the last poison row a moment.
    let letters = await readLetters(join(options.workDir, `dlq-${suffix}.jsonl`));
    while (
      new Set(letters.map((letter) => letter.id)).size < poison.length &&
      Date.now() < deadline &&
      child!.running
    ) {
      await sleep(200);
      letters = await readLetters(join(options.workDir, `dlq-${suffix}.jsonl`));
    }
    if (child!.running) {
      const exit = await child!.kill('SIGTERM');
      if (exit.code !== 0)
        problems.push(`the last run exited with ${exit.code ?? exit.signal}: ${child!.output.slice(-3000)}`);
    } else problems.push(`the last run ended on its own: ${child!.output.slice(-3000)}`);
    if (proxy && proxy.connections < 2)
      problems.push(
        `Sluice opened ${proxy.connections} source connections through the proxy; the outage was not exercised`,
      );

    const expectedRows = JSON.parse(expected) as [string | number, string | number, string][];
    const actualRows = new Map(
      (JSON.parse(actual) as [string | number, string | number, string][]).map((row) => [
        String(row[0]),
        row,
      ]),
    );
    let lost = 0;
    let written = 0;
    let regressed = watch.regressed.size;
    for (const row of expectedRows) {
      const got = actualRows.get(String(row[0]));
      actualRows.delete(String(row[0]));
      if (got === undefined) lost++;
      else if (Number(got[1]) < Number(row[1])) {
        lost++;
        regressed++;
      } else if (got[1] !== row[1] || got[2] !== row[2])
        problems.push(`row ${row[0]} is ${JSON.stringify(got)}, expected ${JSON.stringify(row)}`);
      else written++;
    }
    for (const id of actualRows.keys()) problems.push(`row ${id} is in the target but not in the source`);
    const poisonIds = new Set(poison.map(String));
    const dead = new Map<string, number>();
    for (const letter of letters) {
      if (!poisonIds.has(letter.id))
        problems.push(
          `dead letter for row ${letter.id} at ${letter.position} is not a poison row: ${letter.reason}`,
        );
      dead.set(letter.id, (dead.get(letter.id) ?? 0) + 1);
    }
    for (const id of poisonIds) if (!dead.has(id)) lost++;
    log(`${transactions} source transactions`);
    return {
      scenario: `${options.fault.kind === 'kill' ? 'crash' : 'source outage'}: postgres cdc → validate → postgres`,
      faults,
      offered: expectedRows.length + poison.length,
      written,
      deadLettered: [...dead.keys()].filter((id) => poisonIds.has(id)).length,
      dlqDuplicates: [...dead.values()].reduce((sum, count) => sum + count - 1, 0),
      lost,
      regressed,
      problems,
    };
  } finally {
    writing = false;
    await writer?.catch(() => undefined);
    if (child?.running) await child.kill('SIGKILL');
    await proxy?.close();
    await sourcePool
      .query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active',
        [slot],
      )
      .catch(() => undefined);
    await sourcePool.end().catch(() => undefined);
    await targetPool.end().catch(() => undefined);
  }
}

/** The dead letters of a JSON Lines DLQ file: the row id of each (from the record's key) and its position. */
async function readLetters(path: string): Promise<{ id: string; position: string; reason: string }[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      // A SIGKILL may cut the last line short; such a line is not a dead letter (its record is read again).
      try {
        const letter = JSON.parse(line) as {
          source_position: string;
          reason: string;
          record: { key: { id: number | string } };
        };
        return { id: String(letter.record.key.id), position: letter.source_position, reason: letter.reason };
      } catch {
        return undefined;
      }
    })
    .filter((letter) => letter !== undefined);
}
