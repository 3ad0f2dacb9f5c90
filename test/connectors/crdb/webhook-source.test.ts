import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CrdbWebhookSource,
  type CrdbWebhookSourceOptions,
} from '../../../connectors/crdb/webhook-changefeed-source.js';
import { crdbWebhookSource } from '../../../connectors/crdb/webhook-source.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { SourceBatch } from '../../../runtime/source.js';
import { makeWebhookCertificates, type WebhookCertificates } from '../../support/crdb-certs.js';
import { MemoryCheckpoints, sourceContext } from '../../support/crdb-source-context.js';
import {
  postWebhook,
  webhookBatch,
  withFields,
  type WebhookAnswer,
} from '../../support/crdb-webhook-client.js';
import { loadChangefeedVectors } from './changefeed-vectors.js';

const vectors = loadChangefeedVectors();
/** Wrapped values carrying `key` and `updated` (employees 1, 1 again, 2), as a webhook sink sends them. */
const employees = vectors
  .filter(
    (vector) =>
      vector.envelope === 'wrapped' &&
      vector.value_raw.includes('"updated"') &&
      vector.value_raw.includes('"office"'),
  )
  .map((vector) => withFields(vector.value_raw, { topic: 'employees' }));
const resolvedBody = vectors.find(
  (vector) => vector.kind === 'resolved' && vector.envelope === 'wrapped',
)!.value_raw;
const recordedWebhookBody = vectors.find((vector) => vector.framing === 'webhook_batch')!.value_raw;

let certs: WebhookCertificates;
before(() => {
  certs = makeWebhookCertificates();
});
after(() => certs.remove());

interface Started {
  readonly source: CrdbWebhookSource;
  readonly url: string;
  readonly controller: AbortController;
  readonly checkpoints: MemoryCheckpoints;
  readonly post: (
    body: string | Buffer,
    options?: Partial<Parameters<typeof postWebhook>[2]>,
    path?: string,
  ) => Promise<WebhookAnswer>;
}

const open: CrdbWebhookSource[] = [];
after(async () => {
  for (const source of open) await source.close();
});

async function start(
  overrides: Partial<CrdbWebhookSourceOptions> = {},
  checkpoints = new MemoryCheckpoints(),
): Promise<Started> {
  const source = new CrdbWebhookSource({
    host: '127.0.0.1',
    port: 0,
    path: '/changefeed',
    tls: { cert: certs.files.serverCert, key: certs.files.serverKey },
    maxBodyBytes: 64 * 1024,
    maxPendingRequests: 4,
    retryAfterSeconds: 2,
    decode: { envelope: 'wrapped', keyColumns: { employees: ['id'], vehicles: ['city', 'id'] } },
    ...overrides,
  });
  const { context, controller } = sourceContext('crdb_orders', checkpoints);
  await source.connect(context);
  open.push(source);
  const url = `https://127.0.0.1:${source.address().port}`;
  return {
    source,
    url,
    controller,
    checkpoints,
    post: (body, options = {}, path = '/changefeed') =>
      postWebhook(`${url}${path}`, body, { ca: certs.caPem, ...options }),
  };
}

/** Resolves once `source` has a batch ready, or fails after `ms`. */
async function readWithin(source: CrdbWebhookSource, ms = 2_000): Promise<SourceBatch> {
  const batch = await Promise.race([source.read(), sleep(ms, 'timeout' as const, { ref: false })]);
  assert.ok(batch !== 'timeout', `no batch within ${ms} ms`);
  assert.ok(batch !== null, 'read() ended');
  return batch;
}

void describe('crdb_webhook source', () => {
  void test('a POST is answered 200 only after its batch is acknowledged, with every record decoded', async () => {
    const { source, post } = await start();
    const answer = post(webhookBatch(employees));
    let answered = false;
    void answer.then(() => (answered = true));
    const batch = await readWithin(source);
    assert.deepEqual(
      batch.records.map((record) => [
        record.op,
        record.key,
        record.after?.name,
        record.source.hlc,
        record.source.table,
      ]),
      [
        ['insert', { id: 1 }, 'Terry', '1701102296662969433.0000000000', 'employees'],
        ['insert', { id: 1 }, 'Terri', '1701102311425045162.0000000000', 'employees'],
        ['insert', { id: 2 }, 'Alex', '1701102305519323705.0000000000', 'employees'],
      ],
    );
    assert.equal(batch.watermark, undefined);
    await sleep(300);
    assert.equal(answered, false, 'no answer before the acknowledgement');
    const ackedAt = performance.now();
    batch.ack();
    const { status, at } = await answer;
    assert.equal(status, 200);
    assert.ok(at >= ackedAt);
  });

  void test('a real recorded webhook body decodes with its exact key', async () => {
    const { source, post } = await start();
    const answer = post(recordedWebhookBody);
    const batch = await readWithin(source);
    assert.equal(batch.records.length, 1);
    assert.deepEqual(batch.records[0]!.key, { city: 'rome', id: 'd7b18299-c0c4-4304-9ef7-05ae46fd5ee1' });
    assert.equal(batch.records[0]!.source.hlc, '1629813621680097993.0000000000');
    batch.ack();
    assert.equal((await answer).status, 200);
  });

  void test('decimal digits survive the HTTP body', async () => {
    const { source, post } = await start();
    const bare =
      '{"after": {"id": 7, "total": 26.30, "big": 9223372036854775807}, "key": [7], "topic": "employees"}';
    const answer = post(webhookBatch([bare]));
    const batch = await readWithin(source);
    const after = batch.records[0]!.after!;
    assert.ok(after.total instanceof Decimal);
    assert.equal(String(after.total), '26.30');
    assert.equal(after.big, 9223372036854775807n);
    batch.ack();
    assert.equal((await answer).status, 200);
  });

  void test('a resolved POST is an empty batch whose watermark is the HLC; the checkpoint waits for earlier batches', async () => {
    const { source, post, checkpoints } = await start();
    const changes = post(webhookBatch(employees));
    const changesBatch = await readWithin(source);
    const resolved = post(resolvedBody);
    const resolvedBatch = await readWithin(source);
    assert.deepEqual(resolvedBatch.records, []);
    assert.equal(resolvedBatch.watermark, '1590611959605806000.0000000000');
    resolvedBatch.ack();
    assert.equal((await resolved).status, 200);
    await sleep(50);
    assert.equal(
      checkpoints.values.get('resolved'),
      undefined,
      'not saved while earlier changes are unhandled',
    );
    changesBatch.ack();
    assert.equal((await changes).status, 200);
    await sleep(50);
    assert.deepEqual(checkpoints.values.get('resolved'), { resolved: '1590611959605806000.0000000000' });
  });

  void test('a batch handled only in part is answered 503 so that CockroachDB sends it again', async () => {
    const { source, post } = await start();
    const answer = post(webhookBatch(employees));
    const batch = await readWithin(source);
    batch.ack(1);
    const { status, headers } = await answer;
    assert.equal(status, 503);
    assert.equal(headers['retry-after'], '2');
  });

  void test('Authorization is required when configured', async () => {
    const { source, post } = await start({ authorization: 'Bearer s3cret' });
    assert.equal((await post(resolvedBody)).status, 401);
    assert.equal((await post(resolvedBody, { authorization: 'Bearer s3cres' })).status, 401);
    assert.equal((await post(resolvedBody, { authorization: 'Bearer s3cret-and-more' })).status, 401);
    const good = post(resolvedBody, { authorization: 'Bearer s3cret' });
    const batch = await readWithin(source);
    assert.equal(batch.watermark, '1590611959605806000.0000000000');
    batch.ack();
    assert.equal((await good).status, 200);
  });

  void test('bodies above max_body are refused with 413, declared or chunked', async () => {
    const { source, post } = await start({ maxBodyBytes: 1_000 });
    const big = webhookBatch(Array.from({ length: 40 }, () => employees[0]!));
    assert.ok(big.length > 1_000);
    assert.equal((await post(big)).status, 413);
    assert.equal((await post(big, { chunked: true })).status, 413);
    const small = post(resolvedBody, { chunked: true });
    const batch = await readWithin(source);
    batch.ack();
    assert.equal((await small).status, 200);
  });

  void test('other paths get 404 and other methods 405; a body that is not webhook framing goes to the DLQ whole, then 200', async () => {
    const { source, post } = await start();
    assert.equal((await post(resolvedBody, {}, '/elsewhere')).status, 404);
    const get = await post('', { method: 'GET' });
    assert.equal(get.status, 405);
    assert.equal(get.headers.allow, 'POST');
    const bodies: (string | Buffer)[] = [
      'not json',
      '[1, 2]',
      '{"payload": {"after": null}, "length": 1}',
      webhookBatch(employees, 2),
      '{"resolved": "yesterday"}',
      Buffer.from([0x7b, 0xff, 0x00, 0x81]),
    ];
    for (const body of bodies) {
      // CockroachDB retries any non-2xx answer with the same body: a 4xx would hold the changefeed forever.
      let answered = false;
      const answer = post(body).finally(() => (answered = true));
      const batch = await readWithin(source);
      assert.deepEqual(batch.records, []);
      assert.equal(batch.rejected?.length, 1);
      const letter = batch.rejected[0]!;
      assert.match(letter.reason, /the POST body is not a CockroachDB webhook batch .*expected/);
      assert.match(letter.source.position, /^post-\d+$/);
      assert.deepEqual(
        typeof body === 'string' ? letter.raw : Buffer.from(letter.raw as Uint8Array),
        body,
        'the whole body, byte for byte',
      );
      await sleep(50);
      assert.equal(answered, false, 'not answered before the DLQ has it');
      batch.ack();
      assert.equal((await answer).status, 200);
    }
  });

  void test('one undecodable message inside a valid frame goes to the DLQ and the rest proceeds', async () => {
    const { source, post } = await start();
    const answer = post(webhookBatch([employees[0]!, '{"before": 1, "topic": "employees"}', employees[2]!]));
    const batch = await readWithin(source);
    assert.deepEqual(
      batch.records.map((record) => record.after?.name),
      ['Terry', 'Alex'],
    );
    assert.equal(batch.rejected?.length, 1);
    const letter = batch.rejected[0]!;
    assert.equal(letter.node, 'crdb_orders');
    assert.match(letter.source.position, /^post-\d+#1$/);
    assert.match(letter.reason, /expected/);
    assert.equal(letter.raw, '{"before":1,"topic":"employees"}');
    batch.ack();
    assert.equal((await answer).status, 200);
  });

  void test('429 with Retry-After while max_pending_requests POSTs wait to be read', async () => {
    const { source, post } = await start({ maxPendingRequests: 2 });
    const first = post(webhookBatch([employees[0]!]));
    const second = post(webhookBatch([employees[1]!]));
    await sleep(300);
    const third = await post(webhookBatch([employees[2]!]));
    assert.equal(third.status, 429);
    assert.equal(third.headers['retry-after'], '2');
    const a = await readWithin(source);
    const b = await readWithin(source);
    assert.deepEqual([...a.records, ...b.records].map((record) => record.after?.name).sort(), [
      'Terri',
      'Terry',
    ]);
    a.ack();
    b.ack();
    assert.deepEqual([(await first).status, (await second).status], [200, 200]);
  });

  void test('stopping answers queued POSTs 503, ends read(), and answers unacknowledged ones 503 on close', async () => {
    const { source, post, controller } = await start();
    const handedOut = post(webhookBatch([employees[0]!]));
    await readWithin(source);
    const queued = post(webhookBatch([employees[1]!]));
    await sleep(300);
    controller.abort();
    const waiting = await queued;
    assert.equal(waiting.status, 503);
    assert.equal(waiting.headers['retry-after'], '2');
    assert.equal(await source.read(), null);
    assert.equal((await post(resolvedBody)).status, 503);
    await source.close();
    assert.equal((await handedOut).status, 503);
    await assert.rejects(post(resolvedBody), 'closed server refuses connections');
  });

  void test('with client_ca, only clients presenting a certificate it signed get through', async () => {
    const { source, post } = await start({
      tls: { cert: certs.files.serverCert, key: certs.files.serverKey, clientCa: certs.files.ca },
    });
    await assert.rejects(post(resolvedBody));
    await assert.rejects(
      post(resolvedBody, { clientCert: certs.files.strangerCert, clientKey: certs.files.strangerKey }),
    );
    const trusted = post(resolvedBody, {
      clientCert: certs.files.clientCert,
      clientKey: certs.files.clientKey,
    });
    const batch = await readWithin(source);
    batch.ack();
    assert.equal((await trusted).status, 200);
  });

  void test('a restart loads the saved checkpoint and a corrupt one is refused', async () => {
    const checkpoints = new MemoryCheckpoints();
    checkpoints.values.set('resolved', { resolved: '1590611959605806000.0000000000' });
    const { source, post } = await start({}, checkpoints);
    const older = post('{"resolved":"1549591174801796000.0000000000"}');
    const batch = await readWithin(source);
    batch.ack();
    assert.equal((await older).status, 200);
    await sleep(50);
    assert.equal(checkpoints.saves, 0, 'an older resolved timestamp never moves the checkpoint back');
    const corrupt = new MemoryCheckpoints();
    corrupt.values.set('resolved', { resolved: 'soon' });
    await assert.rejects(start({}, corrupt), { code: 'CRDB_CHECKPOINT_INVALID' });
  });

  void test('the definition validates listen and resolves TLS paths against the config directory; a key that does not match is refused', async () => {
    const base = { tls: { cert: 'certs/server.crt', key: 'certs/server.key' } };
    assert.deepEqual(
      crdbWebhookSource.check!(
        { ...base, listen: 'nowhere', max_body: '8MiB' },
        { configDir: '/etc/sluice' },
      ),
      [{ path: ['listen'], message: 'expected host:port or a port (0-65535), got "nowhere"' }],
    );
    const tls = { cert: 'server.crt', key: 'missing.key' };
    const built = await crdbWebhookSource.create(
      { tls, listen: '127.0.0.1:0', path: '/cf' },
      {
        pipeline: 'p',
        node: 'n',
        configDir: certs.dir,
        logger: sourceContext('n').context.logger,
      },
    );
    await assert.rejects(built.connect(sourceContext('n').context), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'CRDB_WEBHOOK_TLS_FILE');
      assert.match(error.message, new RegExp(`at ${certs.dir}/missing\\.key`));
      return true;
    });
    await assert.rejects(start({ tls: { cert: certs.files.serverCert, key: certs.files.clientKey } }), {
      code: 'CRDB_WEBHOOK_TLS_INVALID',
    });
  });
});
