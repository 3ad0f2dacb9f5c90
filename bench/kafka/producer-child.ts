import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A producer child process (see `runProducerChild`), connected and with every message built. */
export interface ProducerChild {
  /** Tells the child to produce; resolves once the cluster acknowledged every message. */
  produce(): Promise<void>;
  /** Kills the child if it is still running. */
  stop(): void;
}

/**
 * Starts `script` (run with tsx, given `args`) as a producer child process and waits until it reports READY, so
 * producing stays out of the process under measurement.
 */
export async function startProducerChild(script: string, args: readonly string[]): Promise<ProducerChild> {
  const producer = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: producer.stdout });
  const next = () =>
    new Promise<string>((resolve, reject) => {
      lines.once('line', resolve);
      producer.once('exit', (code) => reject(new Error(`the producer exited with ${code}`)));
    });
  if ((await next()) !== 'READY') throw new Error('the producer did not start');
  return {
    async produce() {
      const done = next();
      producer.stdin.write('go\n');
      if ((await done) !== 'DONE') throw new Error('the producer failed');
    },
    stop() {
      if (producer.exitCode === null) producer.kill();
    },
  };
}
