import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import pino from 'pino';
import { startTelemetry } from '../../cli/telemetry.js';
import { readObservability } from '../../runtime/telemetry/read-observability.js';
import type { SystemParams, SystemResult } from '../scenario.js';
import { runSluice } from './sluice-system.js';

/**
 * A stand-in OpenTelemetry collector in a process of its own, as a real one would be: an HTTP server on a free
 * local port that reads every OTLP export and answers 200. Prints its port as one line, and on stderr how much it
 * received when its stdin closes.
 */
const RECEIVER = `
let exports = 0;
let bytes = 0;
const server = require('node:http').createServer((request, response) => {
  request.on('data', (chunk) => (bytes += chunk.length));
  request.on('end', () => {
    exports++;
    response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
process.stdin.on('end', () => {
  process.stderr.write('sluice-traced: the OTLP receiver got ' + exports + ' exports, ' + bytes + ' bytes\\n');
  process.exit(0);
});
process.stdin.resume();
`;

/**
 * Sluice with tracing on: the same pipeline as {@link runSluice}, with the OpenTelemetry SDK started as `sluice run`
 * starts it, every batch sampled (`sample_ratio: 1`) and spans exported over OTLP/HTTP to a local receiver process.
 * Compared with `sluice` it gives the cost of tracing.
 */
export async function runSluiceTraced(params: SystemParams): Promise<SystemResult> {
  const receiver = spawn(process.execPath, ['-e', RECEIVER], { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const port = await new Promise<string>((resolve, reject) => {
      createInterface({ input: receiver.stdout }).once('line', resolve);
      receiver.once('exit', (code) => reject(new Error(`the OTLP receiver exited with code ${code}`)));
    });
    const telemetry = await startTelemetry({
      pipeline: 'bench-kafka-pg',
      settings: readObservability({
        traces: { endpoint: `http://127.0.0.1:${port}/v1/traces`, sample_ratio: 1 },
      }),
      env: {},
      logger: pino({ level: 'warn' }),
    });
    try {
      return await runSluice(params);
    } finally {
      await telemetry.shutdown();
    }
  } finally {
    const exited = receiver.exitCode === null ? once(receiver, 'exit') : undefined;
    receiver.stdin.end();
    await exited;
  }
}
