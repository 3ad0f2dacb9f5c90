import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { NotificationBody } from '../../cli/notify.js';
import { SluiceProcess } from '../reliability/sluice-process.js';

let workDir: string;
let hook: Server;
let hookUrl: string;
const received: NotificationBody[] = [];

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'sluice-run-observability-'));
  hook = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      received.push(JSON.parse(text) as NotificationBody);
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
});

after(async () => {
  await new Promise<void>((resolve) => hook.close(() => resolve()));
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const pipeline = (name: string, action: 'dlq' | 'fail') => `name: ${name}
sources:
  orders:
    type: generate
    count: 1500
    rate: 1000
    batch_records: 50
    invalid_ratio: 0.1
operators:
  checks:
    from: orders
    type: validate
    rules:
      - { name: email_present, field: email, not_null: true, action: ${action} }
sinks:
  out:
    from: checks
    type: discard
dlq:
  type: discard
runtime:
  state_dir: ./state-${name}
observability:
  progress: lines
  progress_interval: 300ms
  notify: { url: '${hookUrl}' }
`;

describe('sluice run: progress lines and the webhook notification', () => {
  test('a bounded run prints progress lines and posts its summary on completion', async () => {
    const file = join(workDir, 'complete.yaml');
    await writeFile(file, pipeline('completes', 'dlq'));
    received.length = 0;
    const ran = await SluiceProcess.run(['run', file]);
    assert.equal(ran.code, 0, ran.output.slice(-3000));
    const lines = ran.output.split('\n').filter((line) => line.startsWith('progress orders: '));
    assert.ok(lines.length >= 2, `periodic progress lines, then the final one:\n${ran.output.slice(-3000)}`);
    assert.match(lines[0]!, /^progress orders: \d+% \d+\/1500 records, \d+(\.\d)?k? records\/s, ETA /);
    assert.match(lines[lines.length - 1]!, /^progress orders: 100% 1500\/1500 records/);
    assert.equal(received.length, 1);
    const [body] = received;
    assert.equal(body!.event, 'completion');
    assert.equal(body!.pipeline, 'completes');
    assert.equal(body!.summary?.sources.orders?.read, 1500);
    assert.equal(
      body!.summary.sinks.out!.written + body!.summary.operators.checks!.deadLettered,
      1500,
      'the summary accounts for every record',
    );
    assert.equal(body!.error, undefined);
  });

  test('a collector that never answers neither fails nor holds up the run', async () => {
    const sockets = new Set<Socket>();
    const blackhole = createServer(() => undefined);
    blackhole.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const endpoint = `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}/v1/traces`;
    const file = join(workDir, 'blackhole.yaml');
    await writeFile(
      file,
      `name: blackhole
sources:
  orders: { type: generate, count: 20000, batch_records: 10 }
operators:
  open: { from: orders, type: filter, where: 'after.amount >= 0' }
sinks:
  out: { from: open, type: discard }
runtime: { state_dir: ./state-blackhole }
observability:
  traces: { endpoint: '${endpoint}' }
  progress: off
`,
    );
    try {
      const started = performance.now();
      const ran = await SluiceProcess.run(['run', file]);
      const seconds = (performance.now() - started) / 1000;
      assert.equal(ran.code, 0, ran.output.slice(-3000));
      assert.match(ran.output, /read 20,000 records, wrote 20,000/);
      assert.ok(sockets.size > 0, 'spans were sent to the collector');
      // 2 000 batches make about 8 000 spans, twice the export queue: the rest is dropped, and shutdown gives up
      // on the collector after the 5 s export timeout instead of waiting for it.
      assert.ok(seconds < 40, `the run took ${seconds.toFixed(1)} s`);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    }
  });

  test('a failing run posts the failure with its code and the summary so far', async () => {
    const file = join(workDir, 'fail.yaml');
    await writeFile(file, pipeline('fails', 'fail'));
    received.length = 0;
    const ran = await SluiceProcess.run(['run', file]);
    assert.equal(ran.code, 1, ran.output.slice(-3000));
    assert.equal(received.length, 1);
    const [body] = received;
    assert.equal(body!.event, 'failure');
    assert.equal(body!.pipeline, 'fails');
    assert.match(body!.error!.code, /^[A-Z_]+$/);
    assert.match(body!.error!.message, /email_present/);
    assert.ok((body!.summary?.sources.orders?.read ?? 0) > 0, 'the summary so far is included');
  });
});
