import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import Kafka from 'node-rdkafka';
import pg from 'pg';
import { startMockKafka, type RunningKafka } from '../../cli/embedded-kafka.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';
import type { Checksum } from '../checksum.js';
import { type AccountRow, PARTITIONS, accountsChecksum, feedTopics } from './account-feed.js';

const UPSERT =
  'INSERT INTO %T (id, name, balance, hlc) SELECT * FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::numeric[]) ' +
  'ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, balance = EXCLUDED.balance, hlc = EXCLUDED.hlc ' +
  'WHERE %T.hlc IS NULL OR %T.hlc < EXCLUDED.hlc';

/** Everything one system of the `crdb-kafka-pg` scenario runs against, started before the timed part. */
export interface CrdbKafkaEnvironment {
  readonly brokers: string;
  readonly pgUrl: string;
  /** The topics the changefeed is spread over (created, empty). */
  readonly topics: readonly string[];
  /** The target table's name (created, empty: `id bigint primary key, name text, balance numeric, hlc numeric`). */
  readonly table: string;
  /** Starts producing the whole feed; resolves once the cluster acknowledged every message. */
  produce(): Promise<void>;
  /** Upserts rows in one statement, newer-wins on `hlc` (each id at most once). */
  upsert(rows: readonly AccountRow[]): Promise<void>;
  /** Count and checksum of what the target table holds. */
  checksum(): Promise<Checksum>;
  /** Stops the producer, Postgres and the mock cluster. */
  close(): Promise<void>;
}

/**
 * Starts a mock Kafka cluster, an embedded Postgres with the target table, the topics, and a producer process ready
 * to produce a feed of `changes` change messages, for one system's run.
 */
export async function startCrdbKafkaEnvironment(
  changes: number,
  system: string,
): Promise<CrdbKafkaEnvironment> {
  let kafka: RunningKafka | undefined;
  let postgres: RunningPostgres | undefined;
  let pool: pg.Pool | undefined;
  try {
    kafka = await startMockKafka();
    postgres = await startEmbeddedPostgres();
    pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    const table = `accounts_${system.replace(/\W/g, '_')}`;
    await pool.query(
      `DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id bigint PRIMARY KEY, name text, balance numeric, hlc numeric)`,
    );
    const topics = Array.from({ length: feedTopics(changes) }, (_, index) => `accounts-${system}-${index}`);
    await createTopics(kafka.bootstrapServers, topics);
    const producer = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'produce-feed.ts'),
        kafka.bootstrapServers,
        String(changes),
        ...topics,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: producer.stdout });
    const next = () =>
      new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        producer.once('exit', (code) => reject(new Error(`the producer exited with ${code}`)));
      });
    if ((await next()) !== 'READY') throw new Error('the producer did not start');
    const running = { kafka, postgres, pool };
    const upsert = UPSERT.replaceAll('%T', table);
    return {
      brokers: kafka.bootstrapServers,
      pgUrl: postgres.url,
      topics,
      table,
      async produce() {
        const done = next();
        producer.stdin.write('go\n');
        if ((await done) !== 'DONE') throw new Error('the producer failed');
      },
      async upsert(rows) {
        await running.pool.query(upsert, [
          rows.map((row) => row.id),
          rows.map((row) => row.name),
          rows.map((row) => row.balance),
          rows.map((row) => row.hlc),
        ]);
      },
      async checksum() {
        const { rows } = await running.pool.query<AccountRow>(
          `SELECT id::text, name, balance::text, hlc::text FROM ${table}`,
        );
        return accountsChecksum(rows);
      },
      async close() {
        if (producer.exitCode === null) producer.kill();
        await running.pool.end();
        await running.postgres.stop();
        await running.kafka.stop();
      },
    };
  } catch (error) {
    await pool?.end();
    await postgres?.stop();
    await kafka?.stop();
    throw error;
  }
}

/** Creates topics on the mock cluster (it creates a topic, with {@link PARTITIONS} partitions, when asked for its metadata). */
async function createTopics(brokers: string, topics: readonly string[]): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers });
  await new Promise<void>((resolve, reject) =>
    producer.connect({}, (error) => (error ? reject(new Error(error.message)) : resolve())),
  );
  try {
    for (const topic of topics) {
      for (let attempt = 0; ; attempt++) {
        const ready = await new Promise<boolean>((resolve) => {
          producer.getMetadata({ topic, timeout: 2_000 }, (error, metadata) =>
            resolve(
              !error &&
                metadata.topics.some(
                  (entry) => entry.name === topic && entry.partitions.length === PARTITIONS,
                ),
            ),
          );
        });
        if (ready) break;
        if (attempt === 50) throw new Error(`topic ${topic} was not created`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  }
}
