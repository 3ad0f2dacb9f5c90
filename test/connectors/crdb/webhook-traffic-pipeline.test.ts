import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../../cli/embedded-postgres.js';
import { crdbWebhookSource } from '../../../connectors/crdb/webhook-source.js';
import { postgresSinkDefinition } from '../../../connectors/postgres/index.js';
import type { ComponentRegistry } from '../../../runtime/component.js';
import { makeWebhookCertificates, type WebhookCertificates } from '../../support/crdb-certs.js';
import { MemoryCheckpoints } from '../../support/crdb-source-context.js';
import { generateTraffic, targetRows, wrappedMessage } from '../../support/crdb-traffic.js';
import { postWebhook, webhookBatch } from '../../support/crdb-webhook-client.js';
import { uniqueName, usePostgres } from '../../support/postgres.js';
import { yamlPipeline } from '../../support/yaml-pipeline.js';

const postgres = usePostgres();
let certs: WebhookCertificates;
before(() => {
  certs = makeWebhookCertificates();
});
after(() => certs.remove());

const registry: ComponentRegistry = {
  sources: new Map([[crdbWebhookSource.type, crdbWebhookSource]]),
  operators: new Map(),
  sinks: new Map([[postgresSinkDefinition.type, postgresSinkDefinition]]),
};

/** Messages in one webhook POST, as the sink's `Flush.Messages` would cut them. */
const BATCH_MESSAGES = 12;

void describe('crdb_webhook → postgres with generated changefeed traffic', () => {
  void test('consistency: per_key: parallel POSTs with replays, retries, a new column and unseen deletes land as the source', async () => {
    const traffic = generateTraffic({ keys: 30, changes: 400, resolvedEvery: 50, partitions: 1, seed: 11 });
    const db = await postgres.database('crdb_webhook_traffic');
    const table = uniqueName('accounts');
    const port = await freePort();
    const yaml = [
      'name: crdb-webhook-traffic',
      'sources:',
      '  feed:',
      '    type: crdb_webhook',
      `    listen: 127.0.0.1:${port}`,
      '    path: /changefeed',
      '    tls: { cert: server.crt, key: server.key }',
      '    authorization: ${CRDB_WEBHOOK_AUTH}',
      '    key_columns: { accounts: [id] }',
      'sinks:',
      '  target:',
      '    type: postgres',
      '    from: [feed]',
      '    url: ${PG_URL}',
      `    table: ${table}`,
      '    create_table: true',
      '    schema_drift: auto',
      '    version_column: hlc',
      '    version_from: source.hlc',
      '    deletes: soft',
      '    consistency: per_key',
      '    batch: { max_records: 20, max_wait: 5ms }',
    ].join('\n');
    const checkpoints = new MemoryCheckpoints();
    const pipeline = await yamlPipeline(
      yaml,
      join(certs.dir, 'pipeline.yaml'),
      registry,
      { CRDB_WEBHOOK_AUTH: 'Bearer traffic', PG_URL: db.url },
      checkpoints,
    );
    const running = pipeline.run();
    running.catch(() => undefined);
    const url = `https://127.0.0.1:${port}/changefeed`;
    /** Sends a body until it is answered 200, as CockroachDB's webhook sink retries (connection refused, 429, 503). */
    const post = async (body: string): Promise<void> => {
      for (let attempt = 1; ; attempt++) {
        let status: number | undefined;
        try {
          status = (await postWebhook(url, body, { ca: certs.caPem, authorization: 'Bearer traffic' }))
            .status;
        } catch (error) {
          if (attempt >= 50) throw error;
        }
        if (status === 200) return;
        assert.ok(status === undefined || status === 429 || status === 503, `answered ${status}`);
        assert.ok(attempt < 50, `${body.slice(0, 80)} was not accepted after ${attempt} attempts`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    };

    let pending: string[] = [];
    let resolvedIndex = 0;
    let lastResolved = '';
    let retried = 0;
    try {
      for (const event of traffic.events) {
        if (event.kind !== 'resolved') {
          pending.push(wrappedMessage(event.change));
          continue;
        }
        // The messages up to a resolved timestamp go in parallel POSTs (sink_io_workers), in any order.
        const bodies: string[] = [];
        for (let from = 0; from < pending.length; from += BATCH_MESSAGES)
          bodies.push(webhookBatch(pending.slice(from, from + BATCH_MESSAGES)));
        pending = [];
        await Promise.all(bodies.map(post));
        // One POST again, as when its 200 came after CockroachDB's client timeout.
        if (bodies.length > 0) {
          await post(bodies[resolvedIndex % bodies.length]!);
          retried++;
        }
        await post(`{"resolved":"${event.hlc}"}`);
        resolvedIndex++;
        lastResolved = event.hlc;
        assert.deepEqual(
          await targetRows(db.pool, table),
          traffic.resolvedStates[resolvedIndex],
          `once every POST up to resolved ${event.hlc} is answered, the target is the source at that time`,
        );
      }
    } finally {
      pipeline.stop();
    }
    await running;

    assert.ok(resolvedIndex >= 8 && retried >= 8, 'the traffic went through many resolved timestamps');
    assert.deepEqual(await targetRows(db.pool, table), traffic.finalState);
    const hlcs = await db.pool.query<{ id: string; hlc: string }>(
      `SELECT id::text, hlc::text FROM ${table} WHERE NOT is_deleted`,
    );
    const lastChange = new Map<number, string>();
    for (const event of traffic.events)
      if (event.kind === 'change') lastChange.set(event.change.id, event.change.hlc);
    assert.deepEqual(
      Object.fromEntries(hlcs.rows.map((row) => [row.id, row.hlc])),
      Object.fromEntries(traffic.finalState.map((row) => [String(row.id), lastChange.get(row.id)])),
      "each row's version column holds the HLC of its last change, every digit",
    );
    assert.deepEqual([...checkpoints.values.values()], [{ resolved: lastResolved }]);
  });
});
