import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { StdoutSink } from '../../../connectors/stdout/stdout-sink.js';
import type { ChangeRecord } from '../../../runtime/record.js';

const logger = pino({ level: 'silent' });
const context = { pipeline: 'test', name: 'out', logger };

function insert(n: number): ChangeRecord {
  return { op: 'insert', key: { n }, before: null, after: { n }, source: { name: 'src', position: `src:${n}` }, sourceTimeMs: null, ingestTimeMs: 0, headers: {} };
}

/** A real stream that takes `delayMs` per chunk and buffers at most `highWaterMark` bytes. */
function slowStream(delayMs: number, received: string[], failWith?: Error): Writable {
  return new Writable({
    highWaterMark: 16,
    write(chunk: Buffer, _encoding, callback) {
      setTimeout(() => {
        received.push(chunk.toString());
        callback(failWith);
      }, delayMs);
    },
  });
}

describe('stdout sink', () => {
  test('prints JSON lines through the real process.stdout, every line whole and in order', async () => {
    const script = fileURLToPath(new URL('./print-records.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, '20'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    for await (const chunk of child.stdout) chunks.push(chunk as Buffer);
    const code = await new Promise((resolve) => child.once('close', resolve));
    assert.equal(code, 0);
    const lines = Buffer.concat(chunks).toString('utf8').trimEnd().split('\n');
    assert.equal(lines.length, 20_000);
    assert.equal(lines[12_345], `{"n":12345,"amount":26.30,"padding":"${'x'.repeat(100)}"}`);
    assert.ok(lines.every((line, index) => JSON.parse(line).n === index));
  });

  test('waits for drain when the stream is full, so a slow reader slows the writer', async () => {
    const received: string[] = [];
    const sink = new StdoutSink('changes', slowStream(40, received));
    await sink.connect(context);
    const started = performance.now();
    await sink.write([insert(1), insert(2)]);
    assert.ok(performance.now() - started >= 30, 'resolved before the stream drained');
    assert.equal(received.length, 1);
    const lines = received[0]!.trimEnd().split('\n').map((line) => JSON.parse(line) as { op: string; after: unknown; source: { position: string } });
    assert.deepEqual(lines.map((line) => [line.op, line.after, line.source.position]), [['insert', { n: 1 }, 'src:1'], ['insert', { n: 2 }, 'src:2']]);
    assert.deepEqual(await sink.write([]), { rejected: [] });
    await sink.close();
  });

  test('a stream error fails the waiting write and every later one with STDOUT_WRITE_FAILED, without crashing', async () => {
    const sink = new StdoutSink('rows', slowStream(5, [], new Error('EPIPE: broken pipe')));
    await sink.connect(context);
    await assert.rejects(sink.write([insert(1), insert(2), insert(3)]), { code: 'STDOUT_WRITE_FAILED', message: /broken pipe/ });
    await assert.rejects(sink.write([insert(4)]), { code: 'STDOUT_WRITE_FAILED', message: /broken pipe/ });
    await sink.close();
  });
});
