import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createServer, type AddressInfo } from 'node:net';
import { freePort } from '../../cli/embedded-postgres.js';
import { makeWebhookCertificates } from '../support/crdb-certs.js';
import { usePostgres } from '../support/postgres.js';
import { useKafka } from '../support/kafka.js';
import { useRegistryPeer } from '../support/schema-registry-peer.js';
import { sluice, type Ran } from '../support/sluice-cli.js';

const pg = usePostgres();
const schemaRegistry = useRegistryPeer();
const kafka = useKafka();

/** Runs `sluice validate [--connect] pipeline.yaml` in a directory holding `yaml` as pipeline.yaml. */
async function validate(
  yaml: string,
  options: { connect?: boolean; env?: Record<string, string> } = {},
): Promise<Ran> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-validate-connect-'));
  await writeFile(join(dir, 'pipeline.yaml'), yaml);
  return sluice(['validate', ...(options.connect === false ? [] : ['--connect']), 'pipeline.yaml'], {
    cwd: dir,
    env: options.env ?? {},
  });
}

/** Line and column (1-based) where `text` appears in `yaml` (the first time, or after `after`). */
function positionOf(yaml: string, text: string, after = ''): string {
  const offset = yaml.indexOf(text, yaml.indexOf(after));
  assert.ok(offset >= 0, `${text} is not in the config`);
  const before = yaml.slice(0, offset).split('\n');
  return `${before.length}:${before.at(-1)!.length + 1}`;
}

/** A Postgres → Postgres pipeline: CDC from `source`, upserts into `target`. */
function pipeline(options: { sourceUrl: string; targetUrl: string; slot: string; extra?: string }): string {
  return `name: validate-connect
sources:
  changes:
    type: postgres_cdc
    url: '${options.sourceUrl}'
    tables: [public.orders]
    publication: ${options.slot}_pub
    slot: ${options.slot}
sinks:
  copy:
    from: changes
    type: postgres
    url: '${options.targetUrl}'
    table: public.orders_copy
    key: [id]
${options.extra ?? ''}`;
}

test('validate --connect exits 0 when the CDC source and the sink table fit, and leaves nothing behind', async () => {
  const db = await pg.database('vc_ok');
  await db.pool.query(`CREATE TABLE orders (id bigint PRIMARY KEY, amount numeric);
    CREATE TABLE orders_copy (id bigint PRIMARY KEY, amount numeric, _version numeric)`);
  const yaml = pipeline({
    sourceUrl: db.url,
    targetUrl: db.url,
    slot: 'vc_ok_slot',
    extra: '    version_column: _version\n    version_from: source.lsn\n',
  });
  const ran = await validate(yaml);
  assert.equal(ran.code, 0, ran.stderr);
  assert.match(
    ran.stdout,
    /pipeline\.yaml: valid \(pipeline validate-connect, 2 nodes; 2 connections checked\)/,
  );
  const publications = await db.pool.query('SELECT pubname FROM pg_publication');
  assert.deepEqual(publications.rows, [], 'the check created no publication');
  const slots = await db.pool.query('SELECT slot_name FROM pg_replication_slots');
  assert.deepEqual(slots.rows, [], 'the check created no slot');
});

test('validate --connect exits 2 with FILE:LINE:COL for a sink table missing a column and a source table without key', async () => {
  const db = await pg.database('vc_bad');
  await db.pool.query(`CREATE TABLE orders (id bigint, amount numeric);
    CREATE TABLE orders_copy (id bigint PRIMARY KEY, amount numeric)`);
  const yaml = pipeline({
    sourceUrl: db.url,
    targetUrl: db.url,
    slot: 'vc_bad_slot',
    extra: '    version_column: _version\n    version_from: source.lsn\n',
  });
  const ran = await validate(yaml);
  assert.equal(ran.code, 2, ran.stdout + ran.stderr);
  const lines = ran.stderr.trim().split('\n');
  assert.deepEqual(lines, [
    `pipeline.yaml:${positionOf(yaml, '[public.orders]')}: sources.changes.tables: expected table public.orders on ${describe(db.url)} to have a primary key or a replica identity, got neither: add a primary key, or run ALTER TABLE "public"."orders" REPLICA IDENTITY FULL`,
    `pipeline.yaml:${positionOf(yaml, '_version')}: sinks.copy.version_column: version column "_version" is missing from public.orders_copy`,
  ]);
});

test('validate --connect reports an unreachable server at its url, without the password', async () => {
  const port = await freePort();
  const url = `postgres://sluice:hunter2secret@127.0.0.1:${port}/nowhere`;
  const yaml = pipeline({ sourceUrl: '${SOURCE_URL}', targetUrl: '${SOURCE_URL}', slot: 'vc_down_slot' });
  const ran = await validate(yaml, { env: { SOURCE_URL: url } });
  assert.equal(ran.code, 2, ran.stdout + ran.stderr);
  const lines = ran.stderr.trim().split('\n');
  assert.equal(lines.length, 2, ran.stderr);
  const sourceAt = positionOf(yaml, "'${SOURCE_URL}'");
  const sinkAt = positionOf(yaml, "'${SOURCE_URL}'", 'sinks:');
  assert.match(
    lines[0]!,
    new RegExp(
      `^pipeline\\.yaml:${sourceAt}: sources\\.changes\\.url: cannot connect to postgres://sluice@127\\.0\\.0\\.1:${port}/nowhere: .*ECONNREFUSED`,
    ),
  );
  assert.match(
    lines[1]!,
    new RegExp(
      `^pipeline\\.yaml:${sinkAt}: sinks\\.copy\\.url: cannot connect to postgres://sluice@127\\.0\\.0\\.1:${port}/nowhere: .*ECONNREFUSED`,
    ),
  );
  assert.doesNotMatch(ran.stderr, /hunter2secret/);
});

test("validate --connect checks an Avro crdb_kafka source's schema registry with the URL's credentials", async () => {
  const yaml = `name: validate-registry
sources:
  feed:
    type: crdb_kafka
    brokers: '\${BROKERS}'
    group: g
    topics: [accounts]
    format: avro
    confluent_schema_registry: '\${REGISTRY_URL}'
sinks:
  out: { from: feed, type: file, path: ./out.jsonl }
`;
  await kafka.produce('accounts', [{ value: '{}' }]);
  const good = await validate(yaml, { env: { REGISTRY_URL: schemaRegistry.url, BROKERS: kafka.brokers } });
  assert.equal(good.code, 0, good.stdout + good.stderr);
  const wrong = schemaRegistry.url.replace('p%40ss', 'guessed');
  const bad = await validate(yaml, { env: { REGISTRY_URL: wrong, BROKERS: kafka.brokers } });
  assert.equal(bad.code, 2, bad.stdout + bad.stderr);
  assert.match(
    bad.stderr,
    new RegExp(
      `^pipeline\\.yaml:${positionOf(yaml, "'${REGISTRY_URL}'")}: sources\\.feed\\.confluent_schema_registry: the schema registry at http://127\\.0\\.0\\.1:\\d+ answered 401`,
      'm',
    ),
  );
  assert.doesNotMatch(bad.stderr, /guessed/);
});

test('validate --connect reads the Kafka cluster of a kafka source and sink: a missing topic, brokers that do not answer', async () => {
  await kafka.produce('present', [{ value: '{}' }]);
  const yaml = (sinkBrokers: string) => `name: validate-kafka
sources:
  events:
    type: kafka
    brokers: '\${BROKERS}'
    group: g
    topics: [present, absent]
sinks:
  out:
    from: events
    type: kafka
    brokers: '${sinkBrokers}'
    topic: copied
`;
  const good = yaml('${BROKERS}').replace('[present, absent]', '[present]');
  const fine = await validate(good, { env: { BROKERS: kafka.brokers } });
  assert.equal(fine.code, 0, fine.stdout + fine.stderr);
  const port = await freePort();
  const bad = yaml(`127.0.0.1:${port}`);
  const ran = await validate(bad, { env: { BROKERS: kafka.brokers } });
  assert.equal(ran.code, 2, ran.stdout + ran.stderr);
  const lines = ran.stderr.trim().split('\n');
  assert.equal(lines.length, 2, ran.stderr);
  assert.equal(
    lines[0],
    `pipeline.yaml:${positionOf(bad, 'absent')}: sources.events.topics.1: topic "absent" does not exist on the Kafka cluster at ${kafka.brokers}`,
  );
  assert.match(
    lines[1]!,
    new RegExp(
      `^pipeline\\.yaml:${positionOf(bad, `'127.0.0.1:${port}'`)}: sinks\\.out\\.brokers: cannot read the metadata of the Kafka cluster at 127\\.0\\.0\\.1:${port}: `,
    ),
  );
});

test('validate --connect checks a webhook source: TLS files readable, the key belongs to the certificate, the address free', async () => {
  const certs = makeWebhookCertificates();
  const busy = createServer();
  try {
    const yaml = (listen: string, key: string) => `name: validate-webhook
sources:
  feed:
    type: crdb_webhook
    listen: ${listen}
    tls: { cert: ${certs.files.serverCert}, key: ${key}, client_ca: ${certs.files.ca} }
sinks:
  out: { from: feed, type: file, path: ./out.jsonl }
`;
    const port = await freePort();
    const fine = await validate(yaml(`127.0.0.1:${port}`, certs.files.serverKey));
    assert.equal(fine.code, 0, fine.stdout + fine.stderr);
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const taken = (busy.address() as AddressInfo).port;
    const bad = yaml(`127.0.0.1:${taken}`, certs.files.clientKey);
    const ran = await validate(bad);
    assert.equal(ran.code, 2, ran.stdout + ran.stderr);
    const lines = ran.stderr.trim().split('\n');
    assert.equal(lines.length, 2, ran.stderr);
    assert.match(
      lines[0]!,
      new RegExp(
        `^pipeline\\.yaml:${positionOf(bad, `127.0.0.1:${taken}`)}: sources\\.feed\\.listen: cannot listen on 127\\.0\\.0\\.1:${taken}: .*EADDRINUSE`,
      ),
    );
    assert.ok(
      lines[1]!.startsWith(
        `pipeline.yaml:${positionOf(bad, certs.files.clientKey)}: sources.feed.tls.key: the key ${certs.files.clientKey} cannot serve the certificate ${certs.files.serverCert}: `,
      ),
      lines[1],
    );
  } finally {
    busy.close();
    certs.remove();
  }
});

test('validate without --connect does not connect', async () => {
  const port = await freePort();
  const yaml = pipeline({
    sourceUrl: `postgres://127.0.0.1:${port}/nowhere`,
    targetUrl: `postgres://127.0.0.1:${port}/nowhere`,
    slot: 'vc_off_slot',
  });
  const ran = await validate(yaml, { connect: false });
  assert.equal(ran.code, 0);
  assert.match(ran.stdout, /valid \(pipeline validate-connect, 2 nodes\)$/m);
});

/** `postgres://user@host:port/database`, as the messages name a server. */
function describe(url: string): string {
  const parsed = new URL(url);
  return `postgres://${decodeURIComponent(parsed.username)}${parsed.username ? '@' : ''}${parsed.hostname}:${parsed.port}${parsed.pathname}`;
}
