import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { startHealthServer } from '../../cli/health-server.js';
import { PipelineHealth } from '../../runtime/telemetry/pipeline-health.js';

describe('health server', () => {
  test('/healthz answers while /readyz follows connectors, failures and checkpoint progress', async () => {
    let now = 0;
    const health = new PipelineHealth(['orders'], ['warehouse'], 60_000, () => now);
    const server = await startHealthServer('127.0.0.1', 0, { readiness: () => health.readiness() });
    try {
      const get = async (path: string) => {
        const response = await fetch(`${server.url}${path}`);
        return { status: response.status, body: await response.text() };
      };
      assert.equal((await get('/healthz')).status, 200);
      const starting = await get('/readyz');
      assert.equal(starting.status, 503);
      assert.match(starting.body, /source "orders" is not connected/);
      assert.match(starting.body, /sink "warehouse" is not connected/);

      health.connected('orders');
      health.connected('warehouse');
      assert.deepEqual(await get('/readyz'), { status: 200, body: 'ready\n' });

      health.failed('warehouse', 'connection refused');
      const failing = await get('/readyz');
      assert.equal(failing.status, 503);
      assert.match(failing.body, /sink "warehouse" is failing: connection refused/);
      health.succeeded('warehouse');
      assert.equal((await get('/readyz')).status, 200);

      health.dispatched('orders');
      now = 61_000;
      const stalled = await get('/readyz');
      assert.equal(stalled.status, 503);
      assert.match(
        stalled.body,
        /source "orders" has 1 batch\(es\) in flight and no checkpoint progress for 61 s/,
      );
      assert.equal(health.checkpointAgeSeconds('orders'), 61);
      health.acknowledged('orders');
      assert.equal((await get('/readyz')).status, 200);
      assert.equal(health.checkpointAgeSeconds('orders'), 0);

      health.finish('pipeline finished');
      assert.match((await get('/readyz')).body, /pipeline finished/);
      assert.equal((await get('/metrics')).status, 404);
      assert.equal((await fetch(`${server.url}/healthz`, { method: 'POST' })).status, 405);
    } finally {
      await server.close();
    }
  });

  test('a port in use fails with HEALTH_SERVER_FAILED naming the address', async () => {
    const first = await startHealthServer('127.0.0.1', 0, {
      readiness: () => ({ ready: true, reasons: [] }),
    });
    try {
      await assert.rejects(
        startHealthServer('127.0.0.1', first.port, { readiness: () => ({ ready: true, reasons: [] }) }),
        (error: Error & { code?: string }) =>
          error.code === 'HEALTH_SERVER_FAILED' && error.message.includes(`127.0.0.1:${first.port}`),
      );
    } finally {
      await first.close();
    }
  });
});
