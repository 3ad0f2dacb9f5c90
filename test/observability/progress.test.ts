import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { describeProgress, startProgress, type SourceProgress } from '../../cli/progress.js';

/** A stream that keeps what is written, and claims to be (or not to be) a terminal. */
function capture(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(stream, { isTTY, text: () => chunks.join('') });
  return stream;
}

describe('progress', () => {
  test('a known total shows percent, rate and ETA; an unknown one shows the count and rate', () => {
    assert.equal(
      describeProgress('orders', { done: 2_500, total: 10_000, unit: 'records' }, 500, false),
      'orders: 25% 2500/10.0k records, 500 records/s, ETA 15s',
    );
    assert.equal(
      describeProgress('orders', { done: 5_000, total: 10_000, unit: 'bytes' }, 100, true),
      'orders [############............] 50% 5000/10.0k bytes, 100 bytes/s, ETA 50s',
    );
    assert.equal(
      describeProgress('events', { done: 42, total: null, unit: 'records' }, 0, false),
      'events: 42 records, 0 records/s',
    );
    assert.match(describeProgress('slow', { done: 1, total: 100_000, unit: 'records' }, 0, false), /ETA \?$/);
  });

  test('off a terminal, auto prints a line per source each interval and a final line at stop', async () => {
    const stream = capture(false);
    let done = 0;
    const progress = startProgress({
      mode: 'auto',
      stream,
      intervalMs: 30,
      read: (): Record<string, SourceProgress> => ({
        orders: { done: (done += 100), total: 1_000, unit: 'records' },
      }),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    progress.stop();
    progress.stop();
    const lines = stream.text().trim().split('\n');
    assert.ok(lines.length >= 2, `expected periodic lines, got ${JSON.stringify(lines)}`);
    assert.ok(
      lines.every((line) => /^progress orders: \d+% \d+\/1000 records, \d+ records\/s, ETA /.test(line)),
    );
    assert.ok(!stream.text().includes('\x1b['), 'no terminal control codes off a terminal');
  });

  test('on a terminal, the bar redraws in place; off prints nothing', async () => {
    const terminal = capture(true);
    const bar = startProgress({
      mode: 'auto',
      stream: terminal,
      intervalMs: 10_000,
      redrawMs: 20,
      read: () => ({ file: { done: 50, total: 100, unit: 'bytes' } }),
    });
    await new Promise((resolve) => setTimeout(resolve, 70));
    bar.stop();
    const escape = '\x1b';
    assert.ok(
      terminal.text().includes(`${escape}[1F${escape}[2Kfile [${'#'.repeat(12)}${'.'.repeat(12)}] 50%`),
      'the second drawing moves up one line and clears it before redrawing',
    );

    const quiet = capture(true);
    startProgress({
      mode: 'off',
      stream: quiet,
      intervalMs: 10,
      read: () => ({ file: { done: 1, total: 2, unit: 'bytes' } }),
    }).stop();
    assert.equal(quiet.text(), '');
  });
});
