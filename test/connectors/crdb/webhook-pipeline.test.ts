import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../../cli/embedded-postgres.js';
import { crdbWebhookSource } from '../../../connectors/crdb/webhook-source.js';
import { postgresSinkDefinition } from '../../../connectors/postgres/index.js';
import { filterOperator } from '../../../operators/filter.js';
import type { ComponentRegistry } from '../../../runtime/component.js';
import { parsePipeline } from '../../../runtime/config/index.js';
import { makeWebhookCertificates, type WebhookCertificates } from '../../support/crdb-certs.js';
import { MemoryCheckpoints } from '../../support/crdb-source-context.js';
import { postWebhook, webhookBatch, withFields } from '../../support/crdb-webhook-client.js';
import { usePostgres } from '../../support/postgres.js';
import { loadChangefeedVectors } from './changefeed-vectors.js';
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

/** The recorded employee changes (Terry at …296, Terri at …311 for id 1; Alex at …305 for id 2), as webhook messages. */
const [terry, terri, alex] = loadChangefeedVectors()
  .filter(
    (vector) =>
      vector.envelope === 'wrapped' &&
      vector.value_raw.includes('"updated"') &&
      vector.value_raw.includes('"office"'),
  )
  .map((vector) => withFields(vector.value_raw, { topic: 'employees' }));
const deleteAlex =
  '{"after": null, "key": [2], "topic": "employees", "updated": "1701102320000000000.0000000000"}';
const RESOLVED = '1701102330000000000.0000000000';

void describe('crdb_webhook → postgres through the engine', () => {
  void test('duplicates and out-of-order replays land as the final state, each POST answered after its write', async () => {
    const db = await postgres.database('crdb_webhook');
    const port = await freePort();
    const yaml = [
      'name: crdb_e2e',
      'sources:',
      '  crdb_employees:',
      '    type: crdb_webhook',
      `    listen: 127.0.0.1:${port}`,
      '    path: /changefeed',
      '    tls: { cert: server.crt, key: server.key }',
      '    authorization: ${CRDB_WEBHOOK_AUTH}',
      '    key_columns: { employees: [id] }',
      'sinks:',
      '  target:',
      '    type: postgres',
      '    from: [crdb_employees]',
      '    url: ${PG_URL}',
      '    table: employees',
      '    create_table: true',
      '    version_column: hlc',
      '    version_from: source.hlc',
      '    deletes: soft',
      '    batch: { max_wait: 10ms }',
    ].join('\n');
    const checkpoints = new MemoryCheckpoints();
    const pipeline = await yamlPipeline(
      yaml,
      join(certs.dir, 'pipeline.yaml'),
      registry,
      { CRDB_WEBHOOK_AUTH: 'Bearer e2e', PG_URL: db.url },
      checkpoints,
    );
    const running = pipeline.run();
    const url = `https://127.0.0.1:${port}/changefeed`;
    const post = async (body: string) => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await postWebhook(url, body, { ca: certs.caPem, authorization: 'Bearer e2e' });
        } catch (error) {
          // The pipeline connects its source after its sinks: wait for the listener like a changefeed's retries.
          if (attempt > 50) throw error;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      }
    };
    const rows = async () =>
      (
        await db.pool.query<{ id: string; name: string; is_deleted: boolean; hlc: string }>(
          'SELECT id::text, name, is_deleted, hlc::text FROM employees ORDER BY id',
        )
      ).rows.map((row) => [row.id, row.name, row.is_deleted, row.hlc]);

    try {
      assert.equal((await post(webhookBatch([terri!]))).status, 200);
      assert.deepEqual(
        await rows(),
        [['1', 'Terri', false, '1701102311425045162.0000000000']],
        'written before the 200',
      );
      assert.equal(
        (await post(webhookBatch([terry!, alex!]))).status,
        200,
        'an older change of id 1 arrives late',
      );
      assert.equal((await post(webhookBatch([terry!, alex!]))).status, 200, 'and again: a retried POST');
      assert.equal((await post(webhookBatch([deleteAlex]))).status, 200);
      assert.equal((await post(webhookBatch([alex!, terri!]))).status, 200, 'a replay after the delete');
      assert.equal((await post(`{"resolved":"${RESOLVED}"}`)).status, 200);
      assert.deepEqual(await rows(), [
        ['1', 'Terri', false, '1701102311425045162.0000000000'],
        ['2', 'Alex', true, '1701102320000000000.0000000000'],
      ]);
      assert.equal((await post(webhookBatch([terri!]))).status, 200);
    } finally {
      pipeline.stop();
    }
    await running;
    assert.deepEqual([...checkpoints.values.values()], [{ resolved: RESOLVED }]);
  });
  void test('consistency: resolved is refused behind a webhook source, whose resolved timestamps wait for the answers', async () => {
    const yaml = (from: string) =>
      [
        'name: crdb_resolved',
        'sources:',
        '  crdb_employees:',
        '    type: crdb_webhook',
        '    tls: { cert: server.crt, key: server.key }',
        ...(from === 'named' ? ['operators:', '  named: { from: crdb_employees, type: filter, where: "true" }'] : []),
        'sinks:',
        '  target:',
        '    type: postgres',
        `    from: ${from}`,
        '    url: postgres://localhost/db',
        '    table: employees',
        '    version_column: hlc',
        '    version_from: source.hlc',
        '    consistency: resolved',
      ].join('\n');
    const withFilter: ComponentRegistry = { ...registry, operators: new Map([[filterOperator.type, filterOperator]]) };
    for (const from of ['crdb_employees', 'named']) {
      const line = yaml(from).split('\n').findIndex((text) => text.includes('consistency')) + 1;
      await assert.rejects(
        parsePipeline(yaml(from), join(certs.dir, 'pipeline.yaml'), withFilter),
        (error: Error) =>
          error.message.includes(
            `pipeline.yaml:${line}:5: sinks.target.consistency: sink "target" acknowledges records only once a watermark covers them, and source "crdb_employees" (crdb_webhook)`,
          ),
      );
    }
    const perKey = yaml('named').replace('consistency: resolved', 'consistency: per_key');
    await parsePipeline(perKey, join(certs.dir, 'pipeline.yaml'), withFilter);
  });
});
