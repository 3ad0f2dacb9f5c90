import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { SluiceError } from '../runtime/errors.js';

/** A running mock Kafka cluster. */
export interface RunningKafka {
  /** Comma-separated `host:port` list of the cluster's brokers, for `bootstrap.servers`. */
  readonly bootstrapServers: string;
  /** Stops the cluster (its data is gone). Idempotent. */
  stop(): Promise<void>;
}

/** Options for {@link startMockKafka}. */
export interface MockKafkaOptions {
  /** Brokers in the cluster (default 3). */
  brokers?: number;
  /** Longest wait for the cluster to come up, in milliseconds (default 15 000). */
  startTimeoutMs?: number;
}

/**
 * The helper process: creates a librdkafka client with a mock cluster, prints the brokers' addresses as one JSON
 * line, and keeps the client (and so the cluster) alive until its stdin closes or it is killed. It is CommonJS run
 * with `node -e`, so it works the same from the TypeScript sources and from the compiled `dist`.
 */
const HELPER = `
const Kafka = require(process.argv[1]);
const client = new Kafka.Producer({ 'test.mock.num.brokers': Number(process.argv[2]), 'client.id': 'sluice-mock-kafka' });
let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  client.disconnect(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
client.connect({ timeout: 10000 }, (error, metadata) => {
  if (error) {
    process.stdout.write(JSON.stringify({ error: error.message }) + '\\n');
    process.exit(1);
  }
  const servers = metadata.brokers.map((broker) => broker.host + ':' + broker.port).join(',');
  process.stdout.write(JSON.stringify({ bootstrapServers: servers }) + '\\n');
});
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
`;

/**
 * Starts librdkafka's mock Kafka cluster (real Kafka protocol over TCP on 127.0.0.1, topics auto-created with 4
 * partitions, no admin API, about 5 MB kept per partition) in a child process, for tests, benchmarks and the
 * quickstart. The child exits when {@link RunningKafka.stop} is called or when this process exits.
 */
export async function startMockKafka(options: MockKafkaOptions = {}): Promise<RunningKafka> {
  const brokers = options.brokers ?? 3;
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const rdkafka = createRequire(import.meta.url).resolve('node-rdkafka');
  const child = spawn(process.execPath, ['-e', HELPER, rdkafka, String(brokers)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 20) stderr.shift();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let bootstrapServers: string;
  try {
    bootstrapServers = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no broker list within ${startTimeoutMs} ms`)),
        startTimeoutMs,
      );
      const lines = createInterface({ input: child.stdout });
      lines.once('line', (line) => {
        clearTimeout(timer);
        lines.close();
        const message = JSON.parse(line) as { bootstrapServers?: string; error?: string };
        if (message.bootstrapServers) resolve(message.bootstrapServers);
        else reject(new Error(message.error ?? `unexpected output ${line}`));
      });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the helper exited with code ${code}`)));
    });
  } catch (cause) {
    child.kill('SIGKILL');
    const detail = stderr.join('').trim().slice(-2000);
    throw new SluiceError(
      'EMBEDDED_KAFKA_FAILED',
      `the mock Kafka cluster did not start: ${(cause as Error).message}${detail ? `: ${detail}` : ''}`,
      {
        cause,
      },
    );
  }

  let stopped: Promise<void> | undefined;
  return {
    bootstrapServers,
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.stdin.end();
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
      })();
      return stopped;
    },
  };
}
