import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, test } from 'node:test';
import { SluiceProcess } from './sluice-process.js';

const MiB = 1024 * 1024;

// An endless source into a sink that never finishes a write: the in-flight budget (2,000 records, 4 MiB here) is
// all that may pile up, so resident memory must stop growing once it is spent. The bound tested is generous —
// the Node/tsx baseline (~150–250 MiB) plus the budget, plus slack for the collector — and growth after the
// budget is spent must stay small.
const PIPELINE = `name: reliability-memory
sources:
  orders: { type: generate, seed: 7, keys: 1000 }
sinks:
  stalled: { from: orders, type: discard, delay: 600000 }
runtime:
  in_flight: { records: 2000, bytes: 4MiB }
  shutdown_timeout: 1s
`;

describe('memory: an endless source into a stalled sink', () => {
  test('resident memory stays under a fixed bound while the sink does not move', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-memory-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'pipeline.yaml'), PIPELINE);
    const child = SluiceProcess.start(['run', join(dir, 'pipeline.yaml')]);
    try {
      await child.waitFor(/"msg":"pipeline starting"/);
      // Let the source spend its budget, then watch.
      await sleep(2_000);
      const samples: number[] = [];
      for (let i = 0; i < 16; i++) {
        const rss = await child.rssBytes();
        assert.ok(rss !== undefined, `sluice exited:\n${child.output.slice(-3000)}`);
        samples.push(rss);
        await sleep(250);
      }
      const settled = Math.min(...samples.slice(0, 4));
      const peak = Math.max(...samples);
      if (process.env.SLUICE_TEST_LOG)
        console.log(`rss MiB: ${samples.map((s) => (s / MiB).toFixed(0)).join(' ')}`);
      assert.ok(peak < 400 * MiB, `peak RSS ${(peak / MiB).toFixed(0)} MiB is above the 400 MiB bound`);
      assert.ok(
        peak - settled < 48 * MiB,
        `RSS grew by ${((peak - settled) / MiB).toFixed(0)} MiB while the sink was stalled`,
      );
      // The stalled write cannot drain: the stop gives up after shutdown_timeout (1 s), says so, and exits with
      // code 3 even though the discard sink's timer is still pending.
      child.signal('SIGTERM');
      await child.waitFor(/"msg":"pipeline shutdown timed out"/, 15_000);
      const summary = /"summary":(\{.*?\}),"msg":"pipeline shutdown timed out"/.exec(child.output);
      assert.ok(summary, child.output.slice(-2000));
      const { sources } = JSON.parse(summary[1]!) as { sources: { orders: { read: number } } };
      assert.ok(
        sources.orders.read <= 2_000,
        `the source read ${sources.orders.read} records past the in-flight budget of 2,000`,
      );
      const exit = await Promise.race([child.exited, sleep(10_000).then(() => undefined)]);
      assert.deepEqual(exit && { code: exit.code }, { code: 3 }, 'sluice run should exit with code 3 after the timeout');
    } finally {
      await child.kill('SIGKILL');
    }
  });
});
