import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import avro from 'avsc';
import {
  ChangefeedDecodeError,
  type ChangefeedDecodeOptions,
  type ChangefeedEvent,
  crdbAvroOptions,
  decodeAvroChangefeedMessage,
  SchemaRegistry,
} from '../../../connectors/crdb/index.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import { confluentFrame, useRegistryPeer } from '../../support/schema-registry-peer.js';
import { type ChangefeedVector, loadChangefeedVectors } from './changefeed-vectors.js';

const peer = useRegistryPeer();

/** A CockroachDB column in Avro: every field is a union with null. */
const nullable = (type: avro.Schema) => ['null', type];
const column = (name: string, type: avro.Schema) => ({ name, type: nullable(type), default: null });
const record = (name: string, fields: object[]) => ({ type: 'record', name, fields });

/** The writer schemas of the recorded Avro messages, as CockroachDB builds them (table record per union). */
const officeDogs = record('office_dogs', [column('id', 'long'), column('name', 'string')]);
const foo = (name: string) => record(name, [column('a', 'long'), column('b', 'string')]);
const WRITER_SCHEMAS: Record<ChangefeedVector['envelope'], { key: object; value: object } | undefined> = {
  wrapped: {
    key: record('office_dogs', [column('id', 'long')]),
    value: record('office_dogs_envelope', [{ name: 'after', type: nullable(officeDogs as avro.Schema) }]),
  },
  enriched: {
    key: record('foo', [column('a', 'long')]),
    value: record('foo_envelope', [
      { name: 'after', type: nullable(foo('foo') as avro.Schema) },
      { name: 'before', type: nullable(foo('foo_before') as avro.Schema) },
      column('op', 'string'),
    ]),
  },
  bare: {
    key: record('foo', [column('a', 'long')]),
    value: record('foo_envelope', [{ name: 'record', type: nullable(foo('foo') as avro.Schema) }]),
  },
  key_only: undefined,
  row: undefined,
};

/** Writes Avro-JSON text (unions wrapped, as CockroachDB's textual Avro) as a framed message of a registered schema. */
function framed(schema: object, json: string): { id: number; bytes: Buffer } {
  const id = peer.register(schema);
  const type = avro.Type.forSchema(schema as avro.Schema, { ...crdbAvroOptions(), wrapUnions: true });
  return { id, bytes: confluentFrame(id, type.toBuffer(type.fromString(json))) };
}

async function decoded(
  registry: SchemaRegistry,
  parts: { key: Buffer | null; value: Buffer | null; topic?: string },
  envelope: ChangefeedDecodeOptions['envelope'],
  position = 'foo/0@1',
): Promise<ChangefeedEvent> {
  const ids = [parts.key, parts.value].flatMap((part) => (part === null ? [] : [part.readUInt32BE(1)]));
  await registry.load(ids);
  return decodeAvroChangefeedMessage(
    parts,
    { envelope, sourceName: 'crdb', position, ingestTimeMs: 1 },
    registry,
  );
}

function change(event: ChangefeedEvent): ChangeRecord {
  assert.equal(event.kind, 'change');
  return event.record;
}

describe('CockroachDB changefeeds in Avro (Confluent wire format, schema registry)', () => {
  const vectors = loadChangefeedVectors().filter((vector) => vector.format === 'avro');

  test('every recorded Avro message decodes to its operation, key and rows', async () => {
    assert.equal(vectors.length, 4);
    const registry = new SchemaRegistry(peer.url);
    for (const vector of vectors) {
      const schemas = WRITER_SCHEMAS[vector.envelope]!;
      const key = framed(schemas.key, JSON.stringify(vector.key)).bytes;
      const value = framed(schemas.value, vector.value_raw).bytes;
      const record = change(
        await decoded(registry, { key, value, topic: vector.topic ?? 'office_dogs' }, vector.envelope),
      );
      const line = `vector line ${vector.line}`;
      assert.equal(record.op, vector.kind, line);
      if (vector.envelope === 'wrapped') {
        assert.deepEqual(record.key, { id: 1 }, line);
        assert.deepEqual(record.after, vector.kind === 'delete' ? null : { id: 1, name: 'Petee' }, line);
        assert.equal(record.source.table, 'office_dogs', line);
      } else if (vector.envelope === 'enriched') {
        assert.deepEqual(record.key, { a: 0 }, line);
        assert.equal(record.after, null, line);
        assert.deepEqual(record.before, { a: 0, b: 'cat' }, line);
      } else {
        assert.deepEqual(record.key, { a: 0 }, line);
        assert.deepEqual(record.after, { a: 0, b: 'dog' }, line);
        assert.equal(record.source.table, 'foo', line);
      }
    }
  });

  test('values keep their digits: INT8 beyond 2^53, decimals, microsecond timestamps, dates, times, bytes', async () => {
    const table = record('ledger', [
      column('id', 'long'),
      column('amount', { type: 'bytes', logicalType: 'decimal', precision: 20, scale: 2 }),
      column('negative', { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 3 }),
      column('at', { type: 'long', logicalType: 'timestamp-micros' }),
      column('day', { type: 'int', logicalType: 'date' }),
      column('clock', { type: 'long', logicalType: 'time-micros' }),
      column('raw', 'bytes'),
      column('tags', { type: 'array', items: nullable('long') } as avro.Schema),
      column('note', 'string'),
    ]);
    const envelope = record('ledger_envelope', [
      { name: 'after', type: nullable(table as avro.Schema) },
      column('updated', 'string'),
    ]);
    const id = peer.register(envelope);
    const writer = avro.Type.forSchema(envelope as avro.Schema, { ...crdbAvroOptions(), wrapUnions: true });
    const value = confluentFrame(
      id,
      writer.toBuffer({
        after: {
          ledger: {
            id: { long: 9_007_199_254_740_993n },
            amount: { bytes: new Decimal('123456789012345678.90') },
            negative: { bytes: new Decimal('-0.005') },
            at: { long: '2025-05-14T17:23:14.200039Z' },
            day: { int: '2024-02-29' },
            clock: { long: '23:59:59.000001' },
            raw: { bytes: Buffer.from([0, 255, 7]) },
            tags: { array: [{ long: 1 }, null, { long: -2 }] },
            note: null,
          },
        },
        updated: { string: '1747243394200039000.0000000002' },
      }),
    );
    const keySchema = record('ledger', [column('id', 'long')]);
    const keyWriter = avro.Type.forSchema(keySchema as avro.Schema, {
      ...crdbAvroOptions(),
      wrapUnions: true,
    });
    const key = confluentFrame(
      peer.register(keySchema),
      keyWriter.toBuffer({ id: { long: 9_007_199_254_740_993n } }),
    );
    const record_ = change(
      await decoded(new SchemaRegistry(peer.url), { key, value, topic: 'ledger' }, 'wrapped'),
    );
    assert.deepEqual(record_.after, {
      id: 9_007_199_254_740_993n,
      amount: new Decimal('123456789012345678.90'),
      negative: new Decimal('-0.005'),
      at: '2025-05-14T17:23:14.200039Z',
      day: '2024-02-29',
      clock: '23:59:59.000001',
      raw: new Uint8Array([0, 255, 7]),
      tags: [1, null, -2],
      note: null,
    });
    assert.equal(record_.source.hlc, '1747243394200039000.0000000002');
    assert.deepEqual(record_.key, { id: 9_007_199_254_740_993n }, 'the key record keeps its INT8 too');
  });

  test('wide rows decode whole; a schema with a field named __proto__ is refused rather than read with a loss', async () => {
    const names = Array.from({ length: 24 }, (_, index) => `c${index}`);
    const wide = (extra: string[]) =>
      record('wide_envelope', [
        {
          name: 'after',
          type: nullable(
            record(
              'wide',
              [...extra, ...names].map((name) => column(name, 'string')),
            ) as avro.Schema,
          ),
        },
      ]);
    const row = Object.fromEntries(names.map((name) => [name, { string: `${name}!` }]));
    const { bytes } = framed(wide([]), JSON.stringify({ after: { wide: row } }));
    const registry = new SchemaRegistry(peer.url);
    const after = change(
      await decoded(registry, { key: null, value: bytes, topic: 'wide' }, 'wrapped'),
    ).after!;
    assert.deepEqual(Object.keys(after), names);
    assert.equal(after.c23, 'c23!');
    const proto = framed(wide(['__proto__']), JSON.stringify({ after: null })).bytes;
    await assert.rejects(
      decoded(registry, { key: null, value: proto, topic: 'wide' }, 'wrapped'),
      /not a usable Avro schema: it has a field named __proto__/,
    );
  });

  test('a resolved message (its own schema) becomes a resolved timestamp, whatever the envelope', async () => {
    const schema = record('resolved_envelope', [column('resolved', 'string')]);
    const value = framed(schema, '{"resolved": {"string": "1747243394200039000.0000000005"}}').bytes;
    for (const envelope of ['wrapped', 'bare', 'auto'] as const) {
      const event = await decoded(new SchemaRegistry(peer.url), { key: null, value }, envelope);
      assert.deepEqual(
        event.kind === 'resolved' ? event.hlc.toString() : event,
        '1747243394200039000.0000000005',
        envelope,
      );
    }
  });

  test('each schema is fetched once, with the credentials from the URL (which never appear in messages)', async () => {
    const registry = new SchemaRegistry(peer.url);
    const schema = record('t_envelope', [
      { name: 'after', type: nullable(record('t', [column('id', 'long')]) as avro.Schema) },
    ]);
    const { id, bytes } = framed(schema, '{"after": {"t": {"id": {"long": 3}}}}');
    const before = peer.requested.filter((requested) => requested === id).length;
    for (let round = 0; round < 3; round++)
      assert.deepEqual(
        change(await decoded(registry, { key: null, value: bytes, topic: 't' }, 'wrapped')).after,
        { id: 3 },
      );
    assert.equal(peer.requested.filter((requested) => requested === id).length - before, 1);
    assert.doesNotMatch(registry.url, /sluice|word/, 'the URL kept for messages has no credentials');
  });

  test('bad input fails with CRDB_DECODE naming the message and what was wrong; an outage is retriable', async () => {
    const registry = new SchemaRegistry(peer.url);
    const rejects = async (value: Buffer, pattern: RegExp) => {
      await assert.rejects(
        decoded(registry, { key: null, value }, 'wrapped', 'orders/2@41'),
        (error: unknown) =>
          error instanceof ChangefeedDecodeError &&
          error.code === 'CRDB_DECODE' &&
          pattern.test(error.message) &&
          error.message.includes('orders/2@41'),
      );
    };
    await rejects(Buffer.from('{"after": null}'), /Confluent Avro wire format.*7b22/);
    await rejects(confluentFrame(9_999, Buffer.from([2])), /has no schema 9999/);
    const { id } = framed(record('n_envelope', [column('after', 'long')]), '{"after": null}');
    await rejects(confluentFrame(id, Buffer.from([2])), new RegExp(`Avro of schema ${id}`));
    await rejects(
      confluentFrame(id, Buffer.from([0, 0])),
      /1 bytes it does not read|2 bytes it does not read/,
    );

    peer.failing = true;
    try {
      await assert.rejects(
        new SchemaRegistry(peer.url).load([id]),
        (error: Error & { code?: string; retriable?: boolean }) => {
          assert.equal(error.code, 'SCHEMA_REGISTRY_UNAVAILABLE');
          assert.equal(error.retriable, true);
          assert.match(error.message, /answered 503 for schema/);
          assert.doesNotMatch(error.message, /p%40ss|sluice:/);
          return true;
        },
      );
    } finally {
      peer.failing = false;
    }
    await assert.rejects(
      new SchemaRegistry(peer.url.replace('sluice', 'intruder')).load([id]),
      /answered 401/,
    );
  });
});
