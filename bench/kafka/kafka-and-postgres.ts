import pg from 'pg';
import { startMockKafka, type RunningKafka } from '../../cli/embedded-kafka.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../../cli/embedded-postgres.js';

/** A mock Kafka cluster and an embedded Postgres with a small pool, started for one system's run. */
export interface KafkaAndPostgres {
  readonly brokers: string;
  readonly pgUrl: string;
  /** A pool of two connections to the database (errors of idle connections ignored). */
  readonly pool: pg.Pool;
  /** Ends the pool, then stops Postgres and the mock cluster. */
  stop(): Promise<void>;
}

/**
 * Starts a mock Kafka cluster and an embedded Postgres, then `prepare`s them (tables, topics, producer) into what it
 * returns; stops whatever started if any step fails.
 */
export async function startKafkaAndPostgres<T>(
  prepare: (services: KafkaAndPostgres) => Promise<T>,
): Promise<T> {
  let kafka: RunningKafka | undefined;
  let postgres: RunningPostgres | undefined;
  let pool: pg.Pool | undefined;
  try {
    kafka = await startMockKafka();
    postgres = await startEmbeddedPostgres();
    pool = new pg.Pool({ connectionString: postgres.url, max: 2 });
    // `end()` resolves before its connections have closed, so stopping the server may still reach an idle one.
    pool.on('error', () => undefined);
    const running = { kafka, postgres, pool };
    return await prepare({
      brokers: kafka.bootstrapServers,
      pgUrl: postgres.url,
      pool,
      async stop() {
        await running.pool.end();
        await running.postgres.stop();
        await running.kafka.stop();
      },
    });
  } catch (error) {
    await pool?.end();
    await postgres?.stop();
    await kafka?.stop();
    throw error;
  }
}
