import { join } from 'node:path';
import { createTopics } from '../kafka/create-topics.js';
import { startKafkaAndPostgres } from '../kafka/kafka-and-postgres.js';
import type { LiveKafkaEnvironment } from '../kafka/measure-live-kafka.js';
import { startProducerChild } from '../kafka/producer-child.js';
import { type AccountRow, PARTITIONS, accountsChecksum, feedTopics } from './account-feed.js';

const UPSERT =
  'INSERT INTO %T (id, name, balance, hlc) SELECT * FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::numeric[]) ' +
  'ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, balance = EXCLUDED.balance, hlc = EXCLUDED.hlc ' +
  'WHERE %T.hlc IS NULL OR %T.hlc < EXCLUDED.hlc';

/** Everything one system of the `crdb-kafka-pg` scenario runs against, started before the timed part. */
export interface CrdbKafkaEnvironment extends LiveKafkaEnvironment {
  readonly brokers: string;
  readonly pgUrl: string;
  /** The topics the changefeed is spread over (created, empty). */
  readonly topics: readonly string[];
  /** The target table's name (created, empty: `id bigint primary key, name text, balance numeric, hlc numeric`). */
  readonly table: string;
  /** Upserts rows in one statement, newer-wins on `hlc` (each id at most once). */
  upsert(rows: readonly AccountRow[]): Promise<void>;
}

/**
 * Starts a mock Kafka cluster, an embedded Postgres with the target table, the topics, and a producer process ready
 * to produce a feed of `changes` change messages, for one system's run.
 */
export async function startCrdbKafkaEnvironment(
  changes: number,
  system: string,
): Promise<CrdbKafkaEnvironment> {
  return startKafkaAndPostgres(async (services) => {
    const { brokers, pool } = services;
    const table = `accounts_${system.replace(/\W/g, '_')}`;
    await pool.query(
      `DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (id bigint PRIMARY KEY, name text, balance numeric, hlc numeric)`,
    );
    const topics = Array.from({ length: feedTopics(changes) }, (_, index) => `accounts-${system}-${index}`);
    await createTopics(brokers, topics, PARTITIONS);
    const producer = await startProducerChild(join(import.meta.dirname, 'produce-feed.ts'), [
      brokers,
      String(changes),
      ...topics,
    ]);
    const upsert = UPSERT.replaceAll('%T', table);
    return {
      brokers,
      pgUrl: services.pgUrl,
      topics,
      table,
      produce: () => producer.produce(),
      async upsert(rows) {
        await pool.query(upsert, [
          rows.map((row) => row.id),
          rows.map((row) => row.name),
          rows.map((row) => row.balance),
          rows.map((row) => row.hlc),
        ]);
      },
      async checksum() {
        const { rows } = await pool.query<AccountRow>(
          `SELECT id::text, name, balance::text, hlc::text FROM ${table}`,
        );
        return accountsChecksum(rows);
      },
      async close() {
        producer.stop();
        await services.stop();
      },
    };
  });
}
