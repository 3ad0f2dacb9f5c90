import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import pino from 'pino';
import { notifyWebhook, type NotificationBody } from '../../cli/notify.js';
import { PipelineFailure } from '../../runtime/errors.js';
import type { PipelineSummary } from '../../runtime/pipeline-summary.js';

const logger = pino({ level: 'silent' });

const summary: PipelineSummary = {
  pipeline: 'orders',
  sources: { orders: { read: 10, rejected: 0 } },
  operators: {},
  sinks: { out: { written: 10, rejected: 0 } },
  dlq: null,
  elapsedSeconds: 1,
  recordsPerSecond: 10,
};

async function webhook(status: number) {
  const received: { headers: IncomingHttpHeaders; body: NotificationBody }[] = [];
  const server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => {
      received.push({ headers: request.headers, body: JSON.parse(text) as NotificationBody });
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('notify webhook', () => {
  test('posts the summary on completion and the masked error on failure, with the configured headers', async () => {
    const hook = await webhook(204);
    try {
      const notify = {
        url: hook.url,
        headers: { authorization: 'Bearer t0ken' },
        on: ['failure', 'completion'] as const,
      };
      assert.equal(await notifyWebhook(notify, { pipeline: 'orders', summary }, [], logger), true);
      const failure = new PipelineFailure('RULE_FAILED', 'rule email failed for password hunter2');
      assert.equal(
        await notifyWebhook(notify, { pipeline: 'orders', summary, error: failure }, ['hunter2'], logger),
        true,
      );
      assert.equal(hook.received.length, 2);
      const [done, failed] = hook.received;
      assert.equal(done!.headers.authorization, 'Bearer t0ken');
      assert.equal(done!.body.event, 'completion');
      assert.deepEqual(done!.body.summary, summary);
      assert.equal(done!.body.error, undefined);
      assert.equal(failed!.body.event, 'failure');
      assert.deepEqual(failed!.body.error, {
        code: 'RULE_FAILED',
        message: 'rule email failed for password ***',
      });
    } finally {
      await hook.close();
    }
  });

  test('only selected events are posted; a failing webhook is reported, never thrown', async () => {
    const hook = await webhook(500);
    try {
      const onlyFailures = { url: hook.url, headers: {}, on: ['failure'] as const };
      assert.equal(await notifyWebhook(onlyFailures, { pipeline: 'orders', summary }, [], logger), false);
      assert.equal(hook.received.length, 0);
      assert.equal(
        await notifyWebhook(
          onlyFailures,
          { pipeline: 'orders', summary: null, error: new Error('boom') },
          [],
          logger,
        ),
        false,
      );
      assert.equal(hook.received.length, 1);
      assert.equal(hook.received[0]!.body.error?.code, 'PIPELINE_ERROR');
    } finally {
      await hook.close();
    }
    const unreachable = { url: hook.url, headers: {}, on: ['completion'] as const };
    assert.equal(await notifyWebhook(unreachable, { pipeline: 'orders', summary }, [], logger), false);
  });
});
