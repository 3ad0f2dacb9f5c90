import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { RunningPostgres } from '../../cli/embedded-postgres.js';
import { KafkaProxy } from '../support/kafka-proxy.js';
import { DEAD_LETTER_TABLE_DDL } from '../support/postgres.js';
import { KafkaProducer, type KeyedMessage } from './kafka-producer.js';
import { type ScenarioReport, scenarioLog } from './scenario-report.js';
import { SluiceProcess } from './sluice-process.js';
import { VersionWatch } from './version-watch.js';

/** The fault a {@link runKafkaToPostgres} run injects. */
export type KafkaScenarioFault =
  /** SIGKILL `sluice run` this many times at random moments while it works, restarting it each time. */
  | { readonly kind: 'kill'; readonly count: number }
  /** Stop the target Postgres once, mid-run, for `durationMs`, and start it again; `sluice run` must ride it out. */
  | { readonly kind: 'sink-outage'; readonly durationMs: number }
  /**
   * Cut every connection between Sluice and Kafka (a Kafka-aware proxy drops them and refuses new ones) once,
   * mid-run, for `durationMs`, while more messages are produced; `sluice run` must reconnect by itself.
   */
  | { readonly kind: 'source-outage'; readonly durationMs: number };

/** Options of {@link runKafkaToPostgres}. */
export interface KafkaScenarioOptions {
  /** The target server (its `pause`/`resume` make the sink outage). A database of its own is created on it. */
  readonly postgres: RunningPostgres;
  /** Bootstrap servers of a (mock) Kafka cluster; for `source-outage`, every broker it has (the proxy fronts each). */
  readonly brokers: string;
  /** A directory for the pipeline file and its state. */
  readonly workDir: string;
  /** Messages to produce in all. */
  readonly records: number;
  /** Distinct keys the messages update (each key's versions rise 1, 2, 3, ...). */
  readonly keys: number;
  readonly fault: KafkaScenarioFault;
  /** Longest wait for the target to converge after the last fault, in milliseconds. */
  readonly convergeTimeoutMs?: number;
  /** Progress lines (default `scenarioLog`: printed with `SLUICE_TEST_LOG`). */
  readonly log?: (line: string) => void;
  /** Gets the output (logs and summary) of the last `sluice run` once it has stopped, for checks of its own. */
  readonly onOutput?: (output: string) => void;
}

/** The report's name for each fault. */
const SCENARIO_NAMES: Record<KafkaScenarioFault['kind'], string> = {
  kill: 'crash',
  'sink-outage': 'sink outage',
  'source-outage': 'source outage',
};

/** Every 37th message breaks the email rule (validate → DLQ); every 101st is not JSON (source → DLQ). */
const isRuleBreaker = (index: number) => index % 37 === 5;
const isUndecodable = (index: number) => index % 101 === 7;

/** The sink's restart/retry budget: see the sink-outage test for why these values ride out an outage. */
const PIPELINE = (env: { topic: string; group: string }) => `name: reliability-kafka
sources:
  events:
    type: kafka
    brokers: \${KAFKA_BROKERS}
    group: ${env.group}
    topics: [${env.topic}]
    commit_interval_ms: 100
    batch_records: 200
    settings: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500, 'group.instance.id': sluice-reliability }
operators:
  checks:
    from: events
    type: validate
    rules:
      - { name: email_shape, field: email, regex: '^[^@]+@[^@]+$', action: dlq }
  shaped:
    from: checks
    type: transform
    set: { tag: '"v" + string(after.version)' }
sinks:
  warehouse:
    from: shaped
    type: postgres
    url: \${TARGET_PG_URL}
    table: public.orders
    mode: upsert
    key: [id]
    version_column: _version
    version_from: after.version
    circuit_breaker: { failures: 3, cool_down_ms: 1000 }
    batch: { max_records: 100, max_wait: 20ms }
dlq:
  type: postgres
  url: \${TARGET_PG_URL}
  table: public.dead_letters
  mode: append
  circuit_breaker: { failures: 3, cool_down_ms: 1000 }
runtime:
  state_dir: ./state
  sink_write_retries: 20
  restart: { max_attempts: 20, initial_delay: 100ms, max_delay: 2s }
`;

/** The amount as JSON and Postgres numeric(12,2) write it: two decimals, trailing zeros kept. */
const amountOf = (offer: Offered) => (offer.amountCents / 100).toFixed(2);

interface Offered {
  readonly id: number;
  readonly version: number;
  readonly amountCents: number;
  readonly bad: boolean;
  position?: string;
}

/**
 * Kafka → validate (a DLQ rule) → transform → Postgres upsert with a newer-wins version column, the DLQ a Postgres
 * table, run as `sluice run` child processes while `fault` is injected. Messages are produced in waves (one before
 * each incarnation) so that every fault lands while records are in flight. At the end the target must hold, for
 * every key, exactly the newest good version produced, and the DLQ exactly the bad messages (each at least once).
 */
export async function runKafkaToPostgres(options: KafkaScenarioOptions): Promise<ScenarioReport> {
  const log = options.log ?? scenarioLog;
  const suffix = randomBytes(4).toString('hex');
  const database = `reliability_kafka_${suffix}`;
  const topic = `reliability-orders-${suffix}`;
  const admin = new pg.Pool({ connectionString: options.postgres.url, max: 1 });
  admin.on('error', () => undefined);
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();
  const url = options.postgres.urlFor(database);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  const producer = await KafkaProducer.connect(options.brokers);
  const proxy = options.fault.kind === 'source-outage' ? await KafkaProxy.start(options.brokers) : undefined;
  const problems: string[] = [];
  let faults = 0;
  let connectionsBeforeCut = 0;
  let child: SluiceProcess | undefined;
  try {
    await pool.query(
      'CREATE TABLE orders (id bigint PRIMARY KEY, version bigint NOT NULL, email text, amount numeric(12,2), tag text, _version numeric)',
    );
    await pool.query(DEAD_LETTER_TABLE_DDL);
    const file = join(options.workDir, `kafka-${suffix}.yaml`);
    await writeFile(file, PIPELINE({ topic, group: `reliability-${suffix}` }));
    const env = { KAFKA_BROKERS: proxy?.bootstrapServers ?? options.brokers, TARGET_PG_URL: url };

    const offered: Offered[] = Array.from({ length: options.records }, (_, index) => ({
      id: (index % options.keys) + 1,
      version: Math.floor(index / options.keys) + 1,
      amountCents: (index * 7919) % 100_000,
      bad: isRuleBreaker(index) || isUndecodable(index),
    }));
    const messageOf = (offer: Offered, index: number): KeyedMessage => ({
      key: String(offer.id),
      value: isUndecodable(index)
        ? `{"id": ${offer.id}, "version": ${offer.version}, broken`
        : JSON.stringify({
            id: offer.id,
            version: offer.version,
            email: isRuleBreaker(index) ? 'no-at-sign' : `c${offer.id}@example.com`,
          }).replace(/}$/, `,"amount":${amountOf(offer)}}`),
    });
    const waves = options.fault.kind === 'kill' ? options.fault.count + 1 : 2;
    let produced = 0;
    const produceWave = async (wave: number) => {
      const end = Math.round((options.records * (wave + 1)) / waves);
      const slice = offered.slice(produced, end);
      const positions = await producer.produce(
        topic,
        slice.map((offer, index) => messageOf(offer, produced + index)),
      );
      slice.forEach((offer, index) => (offer.position = positions[index]));
      produced = end;
    };
    const watch = new VersionWatch(pool, 'SELECT id::text AS key, _version::text AS version FROM orders');
    const progress = async () =>
      (
        await pool.query<{ n: string }>(
          'SELECT (SELECT count(*) FROM dead_letters) + (SELECT coalesce(sum(_version), 0) FROM orders) AS n',
        )
      ).rows[0]!.n;

    for (let wave = 0; wave < waves; wave++) {
      await produceWave(wave);
      const before = await progress();
      child = SluiceProcess.start(['run', file], env);
      await child.waitFor(/"msg":"pipeline starting"/);
      const last = wave === waves - 1;
      if (options.fault.kind === 'kill' && !last) {
        // Wait until this incarnation has written something, then kill it at a random moment of its work.
        const deadline = Date.now() + 30_000;
        while ((await progress()) === before && Date.now() < deadline && child.running) await sleep(20);
        await sleep(Math.random() * 400);
        const exit = await child.kill('SIGKILL');
        if (exit.signal !== 'SIGKILL')
          problems.push(`incarnation ${wave} ended before the kill: ${child.output.slice(-2000)}`);
        faults++;
        log(`kill ${faults}: ${(await watch.snapshot()).size} rows in the target`);
      } else if (options.fault.kind === 'sink-outage' && wave === 0) {
        await sleep(300 + Math.random() * 300);
        await options.postgres.pause();
        faults++;
        log(`target Postgres stopped for ${options.fault.durationMs} ms`);
        await sleep(options.fault.durationMs);
        await options.postgres.resume();
        log('target Postgres started again');
        if (!child.running) problems.push(`sluice exited during the outage: ${child.output.slice(-3000)}`);
        await watch.snapshot().catch(() => undefined);
        await produceWave(++wave);
      } else if (options.fault.kind === 'source-outage' && wave === 0) {
        // Wait until Sluice reads and writes, so that the cut lands while records are in flight.
        const deadline = Date.now() + 30_000;
        while ((await progress()) === before && Date.now() < deadline && child.running) await sleep(20);
        await sleep(Math.random() * 300);
        connectionsBeforeCut = proxy!.connections;
        proxy!.cut();
        faults++;
        log(`kafka connections cut for ${options.fault.durationMs} ms`);
        await Promise.all([sleep(options.fault.durationMs), produceWave(++wave)]);
        proxy!.restore();
        log('kafka connections allowed again');
        if (!child.running) problems.push(`sluice exited during the outage: ${child.output.slice(-3000)}`);
        await watch.snapshot();
      }
    }

    // Converge: every key at its newest good version, every bad message dead-lettered.
    const expected = new Map<number, Offered>();
    for (const offer of offered)
      if (!offer.bad && offer.version > (expected.get(offer.id)?.version ?? 0)) expected.set(offer.id, offer);
    const badPositions = new Set(offered.filter((offer) => offer.bad).map((offer) => offer.position!));
    const deadline = Date.now() + (options.convergeTimeoutMs ?? 60_000);
    let rows: { id: string; version: string; amount: string | null; tag: string | null; _version: string }[] =
      [];
    let letters: { source_position: string; n: string }[] = [];
    for (;;) {
      rows = (
        await pool.query<(typeof rows)[number]>(
          'SELECT id::text, version::text, amount::text, tag, _version::text FROM orders',
        )
      ).rows;
      letters = (
        await pool.query<(typeof letters)[number]>(
          'SELECT source_position, count(*)::text AS n FROM dead_letters GROUP BY 1',
        )
      ).rows;
      const done =
        rows.length === expected.size &&
        rows.every(
          (row) => BigInt(row._version) >= BigInt(expected.get(Number(row.id))?.version ?? Infinity),
        ) &&
        letters.length >= badPositions.size;
      if (done || Date.now() > deadline || !child!.running) break;
      await sleep(200);
    }
    await watch.snapshot();
    if (child!.running) {
      const exit = await child!.kill('SIGTERM');
      if (exit.code !== 0)
        problems.push(`the last run exited with ${exit.code ?? exit.signal}: ${child!.output.slice(-3000)}`);
    } else problems.push(`the last run ended on its own: ${child!.output.slice(-3000)}`);
    options.onOutput?.(child!.output);
    if (proxy && (connectionsBeforeCut === 0 || proxy.connections === connectionsBeforeCut))
      problems.push(
        `Sluice opened ${connectionsBeforeCut} Kafka connections through the proxy before the cut and ${proxy.connections - connectionsBeforeCut} after it; the outage was not exercised`,
      );

    let lost = 0;
    let written = 0;
    const regressed = watch.regressed.size;
    const byId = new Map(rows.map((row) => [Number(row.id), row]));
    for (const [id, offer] of expected) {
      const row = byId.get(id);
      if (row === undefined) {
        lost += offered.filter((o) => o.id === id && !o.bad).length;
        continue;
      }
      if (
        BigInt(row._version) >= BigInt(offer.version) &&
        (row.version !== String(offer.version) ||
          row._version !== String(offer.version) ||
          row.amount !== amountOf(offer) ||
          row.tag !== `v${offer.version}`)
      )
        problems.push(
          `row ${id} holds version ${row.version} (_version ${row._version}, amount ${row.amount}, tag ${row.tag}); expected ${offer.version} with ${amountOf(offer)}`,
        );
    }
    for (const offer of offered) {
      if (offer.bad) continue;
      const row = byId.get(offer.id);
      if (row !== undefined && BigInt(row._version) >= BigInt(offer.version)) written++;
      else if (row !== undefined) lost++;
    }
    for (const id of byId.keys()) if (!expected.has(id)) problems.push(`row ${id} should not exist`);
    const found = new Set(letters.map((letter) => letter.source_position));
    for (const position of badPositions) if (!found.has(position)) lost++;
    for (const position of found)
      if (!badPositions.has(position)) problems.push(`dead letter at ${position} is not a bad message`);
    const dlqDuplicates = letters.reduce((sum, letter) => sum + Number(letter.n) - 1, 0);
    return {
      scenario: `${SCENARIO_NAMES[options.fault.kind]}: kafka → validate/transform → postgres`,
      faults,
      offered: offered.length,
      written,
      deadLettered: [...found].filter((position) => badPositions.has(position)).length,
      dlqDuplicates,
      lost,
      regressed,
      problems,
    };
  } finally {
    if (child?.running) await child.kill('SIGKILL');
    await producer.close();
    await proxy?.close();
    await pool.end().catch(() => undefined);
  }
}
