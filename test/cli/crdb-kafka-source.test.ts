import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import avro from 'avsc';
import type { Message } from 'node-rdkafka';
import { crdbAvroOptions } from '../../connectors/crdb/index.js';
import { Decimal } from '../../runtime/decimal.js';
import { changefeedKafkaDecoder, crdbKafkaSource } from '../../cli/crdb-kafka-source.js';
import { postgresSinkDefinition } from '../../connectors/postgres/index.js';
import { DecodeError } from '../../connectors/kafka/index.js';
import type { ComponentRegistry } from '../../runtime/component.js';
import { parsePipeline } from '../../runtime/config/index.js';
import type { Pipeline } from '../../runtime/pipeline.js';
import type { Source, SourceBatch } from '../../runtime/source.js';
import { loadChangefeedVectors } from '../connectors/crdb/changefeed-vectors.js';
import {
  type ChangefeedTraffic,
  enrichedMessage,
  generateTraffic,
  isResolvedState,
  targetRows,
  watchTarget,
} from '../support/crdb-traffic.js';
import {
  type TestMessage,
  quietLogger,
  readUntil,
  sourceContext,
  uniqueTopic,
  useKafka,
} from '../support/kafka.js';
import { usePostgres } from '../support/postgres.js';
import { confluentFrame, useRegistryPeer } from '../support/schema-registry-peer.js';
import { yamlPipeline } from '../support/yaml-pipeline.js';

const kafka = useKafka();
const postgres = usePostgres();
const schemaRegistry = useRegistryPeer();

/** Partitions of every topic the mock cluster creates. */
const PARTITIONS = 4;

const registry: ComponentRegistry = {
  sources: new Map([[crdbKafkaSource.type, crdbKafkaSource]]),
  operators: new Map(),
  sinks: new Map([[postgresSinkDefinition.type, postgresSinkDefinition]]),
};

const noCheckpoints = {
  load: async () => undefined,
  save: async () => undefined,
  close: async () => undefined,
};

function kafkaMessage(value: string | null, key: string | null, partition = 0): Message {
  return {
    topic: 'accounts',
    partition,
    offset: 7,
    key: key === null ? undefined : Buffer.from(key),
    value: value === null ? null : Buffer.from(value),
    size: value?.length ?? 0,
    timestamp: 1_700_000_000_000,
  };
}

/** The traffic as the changefeed's Kafka sink produces it: changes on their key's partition, resolved on every one. */
function kafkaTraffic(traffic: ChangefeedTraffic): TestMessage[] {
  return traffic.events.flatMap((event): TestMessage[] => {
    if (event.kind === 'resolved') {
      return Array.from({ length: PARTITIONS }, (_, partition) => ({
        key: null,
        value: `{"resolved": "${event.hlc}"}`,
        partition,
      }));
    }
    const { key, value } = enrichedMessage(event.change);
    return [{ key, value, partition: event.change.partition }];
  });
}

async function connected(yaml: string): Promise<Source> {
  const options = (await parsePipeline(yaml, 'crdb-kafka.yaml', registry, { env: {} })).sources[0]!.options;
  return crdbKafkaSource.create(options, {
    pipeline: 'test',
    node: 'feed',
    configDir: '.',
    logger: quietLogger,
  });
}

describe('crdb_kafka decoder', () => {
  test('recorded enriched messages become records with the Kafka position; resolved messages become watermarks', () => {
    const decoder = changefeedKafkaDecoder({ envelope: 'enriched' });
    const vector = loadChangefeedVectors().find(
      (candidate) => candidate.envelope === 'enriched' && candidate.value_raw.includes('"ts_hlc"'),
    )!;
    const decoded = decoder.decode(kafkaMessage(vector.value_raw, null, 2), 'feed', 5);
    assert.ok('record' in decoded);
    assert.equal(decoded.record.op, 'insert');
    assert.equal(decoded.record.source.name, 'feed');
    assert.equal(decoded.record.source.partition, 2);
    assert.equal(decoded.record.source.offset, 7);
    assert.equal(decoded.record.source.position, 'accounts/2@7');
    assert.equal(decoded.record.source.hlc, '1746045115619002000.0000000000');
    assert.equal(decoded.record.source.table, 'test.public.products');
    assert.deepEqual(
      decoder.decode(kafkaMessage('{"resolved":"1746045115619002000.0000000003"}', null), 'feed', 5),
      { watermark: '1746045115619002000.0000000003' },
    );
    assert.ok(decoder.compareWatermarks('9.0000000000', '10.0000000000') < 0, 'HLCs order numerically');
    assert.ok(decoder.compareWatermarks('10.0000000002', '10.0000000001') > 0);
    assert.throws(() => decoder.decode(kafkaMessage('{"after": ', null), 'feed', 5), DecodeError);
  });
});

describe('crdb_kafka source', () => {
  test('the watermark is the lowest latest resolved timestamp of every partition, and only rises', async () => {
    const topic = uniqueTopic('crdb-resolved');
    const source = await connected(
      [
        'name: w',
        'sources:',
        '  feed:',
        '    type: crdb_kafka',
        '    brokers: ' + kafka.brokers,
        `    group: ${uniqueTopic('group')}`,
        `    topics: [${topic}]`,
        '    envelope: enriched',
        'sinks: { out: { type: postgres, from: [feed], url: "postgres://x@localhost/x", table: t } }',
      ].join('\n'),
    );
    const context = sourceContext('feed');
    await source.connect(context);
    const watermarks = (batches: SourceBatch[]) => batches.flatMap((batch) => batch.watermark ?? []);
    try {
      const resolved = (hlc: string, partitions: number[]): TestMessage[] =>
        partitions.map((partition) => ({ key: null, value: `{"resolved": "${hlc}"}`, partition }));
      await kafka.produce(topic, resolved('2000.0000000000', [0, 1, 2]));
      const change = enrichedMessage({
        id: 1,
        op: 'c',
        after: { id: 1, name: 'a', balance: '1.00', tier: null },
        hlc: '1500.0000000000',
        partition: 1,
      });
      await kafka.produce(topic, [{ ...change, partition: 1 }]);
      const first = await readUntil(source, (batches) => batches.some((batch) => batch.records.length > 0));
      assert.deepEqual(watermarks(first), [], 'partition 3 has sent no resolved timestamp yet');
      await kafka.produce(topic, resolved('1000.0000000000', [3]));
      const second = await readUntil(source, (batches) => watermarks(batches).length > 0);
      assert.deepEqual(watermarks(second), ['1000.0000000000'], 'the lowest partition holds it back');
      await kafka.produce(topic, resolved('900.0000000000', [3]));
      await kafka.produce(topic, resolved('3000.0000000000', [3]));
      const third = await readUntil(source, (batches) => watermarks(batches).length > 0);
      assert.deepEqual(watermarks(third), ['2000.0000000000'], 'an older resolved timestamp never lowers it');
      for (const batch of [...first, ...second, ...third]) batch.ack();
    } finally {
      context.controller.abort();
      await source.close();
    }
  });
});

function pipelineYaml(
  topic: string,
  table: string,
  consistency: 'per_key' | 'resolved',
  inFlight = 20_000,
  format: readonly string[] = ['    envelope: enriched'],
): string {
  return [
    `name: crdb-kafka-${consistency}`,
    'sources:',
    '  feed:',
    '    type: crdb_kafka',
    '    brokers: ${KAFKA_BROKERS}',
    `    group: ${uniqueTopic('sluice-crdb')}`,
    `    topics: [${topic}]`,
    ...format,
    '    batch_records: 97',
    "    settings: { 'session.timeout.ms': 6000, 'heartbeat.interval.ms': 500 }",
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
    `    consistency: ${consistency}`,
    '    batch: { max_records: 64, max_wait: 5ms }',
    'runtime:',
    `  in_flight: { records: ${inFlight} }`,
  ].join('\n');
}

async function startPipeline(
  yaml: string,
  url: string,
): Promise<{ pipeline: Pipeline; running: Promise<unknown> }> {
  const pipeline = await yamlPipeline(
    yaml,
    'crdb-kafka.yaml',
    registry,
    { KAFKA_BROKERS: kafka.brokers, PG_URL: url },
    noCheckpoints,
  );
  const running = pipeline.run();
  running.catch(() => undefined);
  return { pipeline, running };
}

describe('crdb_kafka → postgres', () => {
  for (const consistency of ['per_key', 'resolved'] as const) {
    test(`consistency: ${consistency}: replayed changefeed traffic lands as the source's final state`, async () => {
      const traffic = generateTraffic({
        keys: 40,
        changes: 600,
        resolvedEvery: 50,
        partitions: PARTITIONS,
        seed: 7,
      });
      const topic = uniqueTopic('accounts');
      const table = `accounts_${consistency}`;
      const db = await postgres.database(`crdb_kafka_${consistency}`);
      await kafka.produce(topic, kafkaTraffic(traffic));
      const { pipeline, running } = await startPipeline(pipelineYaml(topic, table, consistency), db.url);
      const seen: string[] = [];
      let mixed = 0;
      try {
        await watchTarget(db.pool, table, traffic.finalState, running, (rows) => {
          seen.push(JSON.stringify(rows));
          if (!isResolvedState(rows, traffic.resolvedStates)) mixed++;
        });
      } finally {
        pipeline.stop();
      }
      const summary = (await running) as { sinks: Record<string, { written: number }> };
      assert.ok(
        summary.sinks.target!.written >= traffic.changes,
        'every change (and the duplicates) was written',
      );
      if (consistency === 'resolved') {
        assert.equal(mixed, 0, 'every read of the target showed the source at some resolved timestamp');
        assert.ok(new Set(seen).size >= 2, 'the target was read in more than one state');
      }
    });
  }

  test('consistency: resolved with a budget smaller than the changes between resolved timestamps fails, naming the setting', async () => {
    const traffic = generateTraffic({
      keys: 30,
      changes: 300,
      resolvedEvery: 300,
      partitions: PARTITIONS,
      seed: 11,
    });
    const topic = uniqueTopic('accounts-stall');
    const db = await postgres.database('crdb_kafka_stall');
    await kafka.produce(topic, kafkaTraffic(traffic));
    const { running } = await startPipeline(pipelineYaml(topic, 'accounts_stall', 'resolved', 100), db.url);
    await assert.rejects(running, (error: Error & { code?: string }) => {
      assert.equal(error.code, 'IN_FLIGHT_BUDGET_STALLED');
      assert.match(error.message, /runtime\.in_flight\.records/);
      return true;
    });
  });
});

/** A CockroachDB column in Avro: a union with null. */
const avroColumn = (name: string, type: avro.Schema) => ({ name, type: ['null', type], default: null });

/**
 * The traffic as a changefeed with `format=avro, updated` writes it (wrapped envelope, Confluent wire format): the
 * `accounts` value schema gains a `tier` field half-way (a second schema id), resolved messages have their own.
 */
function avroTraffic(traffic: ChangefeedTraffic): TestMessage[] {
  const accounts = (withTier: boolean) => ({
    type: 'record',
    name: 'accounts',
    fields: [
      avroColumn('id', 'long'),
      avroColumn('name', 'string'),
      avroColumn('balance', {
        type: 'bytes',
        logicalType: 'decimal',
        precision: 12,
        scale: 2,
      }),
      ...(withTier ? [avroColumn('tier', 'string')] : []),
    ],
  });
  const writer = (schema: object) => {
    const type = avro.Type.forSchema(schema as avro.Schema, { ...crdbAvroOptions(), wrapUnions: true });
    const id = schemaRegistry.register(schema);
    return (value: unknown) => confluentFrame(id, type.toBuffer(value));
  };
  const envelope = (withTier: boolean) => ({
    type: 'record',
    name: 'accounts_envelope',
    fields: [
      { name: 'after', type: ['null', accounts(withTier)], default: null },
      avroColumn('updated', 'string'),
    ],
  });
  const key = writer({ type: 'record', name: 'accounts', fields: [avroColumn('id', 'long')] });
  const before = writer(envelope(false));
  const after = writer(envelope(true));
  const resolved = writer({
    type: 'record',
    name: 'accounts_envelope',
    fields: [avroColumn('resolved', 'string')],
  });
  return traffic.events.flatMap((event): TestMessage[] => {
    if (event.kind === 'resolved') {
      const value = resolved({ resolved: { string: event.hlc } });
      return Array.from({ length: PARTITIONS }, (_, partition) => ({ key: null, value, partition }));
    }
    const { id, after: row, hlc, partition } = event.change;
    const withTier = row !== null && row.tier !== null;
    const fields = row && {
      id: { long: row.id },
      name: { string: row.name },
      balance: { bytes: new Decimal(row.balance) },
      ...(withTier ? { tier: { string: row.tier } } : {}),
    };
    const value = (withTier ? after : before)({
      after: fields && { accounts: fields },
      updated: { string: hlc },
    });
    return [{ key: key({ id: { long: id } }), value, partition }];
  });
}

describe('crdb_kafka (format: avro) → postgres', () => {
  test('replayed Avro changefeed traffic (schemas from the registry, one added column, a registry outage first) lands as the final state', async () => {
    const traffic = generateTraffic({
      keys: 40,
      changes: 400,
      resolvedEvery: 50,
      partitions: PARTITIONS,
      seed: 5,
    });
    const topic = uniqueTopic('accounts-avro');
    const db = await postgres.database('crdb_kafka_avro');
    const requested = schemaRegistry.requested.length;
    await kafka.produce(topic, avroTraffic(traffic));
    const format = [
      '    envelope: wrapped',
      '    format: avro',
      `    confluent_schema_registry: '${schemaRegistry.url}'`,
    ];
    schemaRegistry.failing = true;
    const { pipeline, running } = await startPipeline(
      pipelineYaml(topic, 'accounts_avro', 'per_key', 20_000, format),
      db.url,
    );
    try {
      // The source asks again and again while the registry answers 503 (once it has joined the group).
      const deadline = Date.now() + 30_000;
      while (schemaRegistry.refused < 3 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 25));
      assert.ok(schemaRegistry.refused >= 3, 'the source kept asking while the registry was down');
      const held = await targetRows(db.pool, 'accounts_avro');
      schemaRegistry.failing = false;
      assert.deepEqual(held, [], 'nothing is written while the schemas cannot be fetched');
      await watchTarget(db.pool, 'accounts_avro', traffic.finalState, running, () => undefined);
    } finally {
      schemaRegistry.failing = false;
      pipeline.stop();
    }
    await running;
    assert.equal(
      schemaRegistry.requested.length - requested,
      4,
      'the key, both value schemas and the resolved schema were each fetched once',
    );
  });

  test('format: avro without a registry, or a registry without format: avro, is refused naming the field', async () => {
    const yaml = (lines: string[]) =>
      pipelineYaml('t', 't', 'per_key', 20_000, ['    envelope: wrapped', ...lines]);
    await assert.rejects(
      parsePipeline(yaml(['    format: avro']), 'crdb-kafka.yaml', registry, {
        env: { KAFKA_BROKERS: 'x', PG_URL: 'x' },
      }),
      /confluent_schema_registry.*format: avro needs the schema registry URL/s,
    );
    await assert.rejects(
      parsePipeline(
        yaml(["    confluent_schema_registry: 'http://registry:8081'"]),
        'crdb-kafka.yaml',
        registry,
        {
          env: { KAFKA_BROKERS: 'x', PG_URL: 'x' },
        },
      ),
      /format.*set format: avro too/s,
    );
    await assert.rejects(
      parsePipeline(
        yaml(['    format: avro', "    confluent_schema_registry: 'registry:8081'"]),
        'crdb-kafka.yaml',
        registry,
        { env: { KAFKA_BROKERS: 'x', PG_URL: 'x' } },
      ),
      /confluent_schema_registry.*expected an http:\/\/ or https:\/\/ URL, got "registry:8081"/s,
    );
  });
});
