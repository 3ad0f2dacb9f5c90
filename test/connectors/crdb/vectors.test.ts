import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ChangefeedDecodeError,
  type ChangefeedEvent,
  decodeChangefeedMessage,
  decodeSinklessRow,
  decodeWebhookBody,
  type ChangefeedDecodeOptions,
} from '../../../connectors/crdb/index.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { ChangeRecord, Value } from '../../../runtime/record.js';
import { type ChangefeedVector, loadChangefeedVectors, numberText, rawDigits } from './changefeed-vectors.js';

type Json = Record<string, unknown>;

const vectors = loadChangefeedVectors();
const jsonVectors = vectors.filter((vector) => vector.format !== 'avro');
const avroVectors = vectors.filter((vector) => vector.format === 'avro');

function options(envelope: ChangefeedDecodeOptions['envelope'], line: number): ChangefeedDecodeOptions {
  return { envelope, sourceName: 'crdb', position: `vectors:${line}`, ingestTimeMs: 1 };
}

/** Feeds a vector to the decoder its transport would use. */
function decodeVector(
  vector: ChangefeedVector,
  envelope: ChangefeedDecodeOptions['envelope'],
): ChangefeedEvent[] {
  const opts = options(envelope, vector.line);
  const key = vector.key === null ? null : JSON.stringify(vector.key);
  if (vector.framing === 'webhook_batch') return decodeWebhookBody(vector.value_raw, opts);
  if (vector.sinkless_row)
    return [decodeSinklessRow({ table: vector.sinkless_row.table, key, value: vector.value_raw }, opts)];
  return [decodeChangefeedMessage({ key, value: vector.value_raw, topic: vector.topic }, opts)];
}

/** What the fixture says one message holds, read from its `value` (or its raw digits) by envelope. */
interface Expected {
  after: unknown;
  before: unknown;
  key: unknown;
  topic: unknown;
  version: unknown;
  source: Json | undefined;
}

function expectedParts(envelope: ChangefeedVector['envelope'], value: unknown): Expected {
  const object = (value ?? {}) as Json;
  switch (envelope) {
    case 'wrapped':
      return {
        after: object.after,
        before: object.before ?? null,
        key: object.key,
        topic: object.topic,
        version: object.updated ?? object.mvcc_timestamp,
        source: undefined,
      };
    case 'enriched': {
      const body = ('op' in object ? object : object.payload) as Json;
      const source = body.source as Json | undefined;
      return {
        after: body.after,
        before: body.before ?? null,
        key: body.key,
        topic: undefined,
        version: source?.ts_hlc ?? source?.mvcc_timestamp,
        source,
      };
    }
    case 'bare': {
      const { __crdb__: meta = {}, ...columns } = object as { __crdb__?: Json };
      return {
        after: Object.keys(columns).length === 0 ? null : columns,
        before: null,
        key: meta.key,
        topic: meta.topic,
        version: meta.updated ?? meta.mvcc_timestamp,
        source: undefined,
      };
    }
    case 'row':
      return {
        after: value ?? null,
        before: null,
        key: undefined,
        topic: undefined,
        version: undefined,
        source: undefined,
      };
    case 'key_only':
      return {
        after: null,
        before: null,
        key: undefined,
        topic: undefined,
        version: undefined,
        source: undefined,
      };
  }
}

/** JSONB columns holding JSON null arrive as {"__crdb_json_null__": true} and decode to null. */
function withJsonNulls(row: unknown): unknown {
  if (row === null || row === undefined) return row;
  return Object.fromEntries(
    Object.entries(row as Json).map(([column, value]) => {
      const marker =
        typeof value === 'object' &&
        value !== null &&
        JSON.stringify(value) === '{"__crdb_json_null__":true}';
      return [column, marker ? null : value];
    }),
  );
}

/**
 * Asserts the decoded value equals the fixture's `value` and that every number kept the exact digits of
 * `value_raw` (`raw`, parsed with LosslessNumbers): `26.30` must decode to Decimal('26.30'), never 26.3.
 */
function assertSameData(decoded: Value | undefined, expected: unknown, raw: unknown, path: string): void {
  if (decoded instanceof Decimal) {
    assert.equal(Number(decoded.text), expected, path);
    assert.equal(decoded.text, numberText(raw), `${path}: digits`);
  } else if (typeof decoded === 'bigint') {
    assert.equal(Number(decoded), expected, path);
    assert.equal(decoded.toString(), numberText(raw), `${path}: digits`);
  } else if (typeof decoded === 'number') {
    assert.equal(decoded, expected, path);
    assert.equal(
      String(decoded),
      numberText(raw),
      `${path}: a number whose text JavaScript would change must be a Decimal`,
    );
  } else if (Array.isArray(decoded)) {
    assert.ok(Array.isArray(expected) && Array.isArray(raw), path);
    assert.equal(decoded.length, expected.length, path);
    decoded.forEach((item, index) =>
      assertSameData(item, expected[index], (raw as unknown[])[index], `${path}[${index}]`),
    );
  } else if (
    typeof decoded === 'object' &&
    decoded !== null &&
    !(decoded instanceof Date) &&
    !(decoded instanceof Uint8Array)
  ) {
    assert.ok(
      typeof expected === 'object' && expected !== null,
      `${path}: expected ${JSON.stringify(expected)}`,
    );
    assert.deepEqual(Object.keys(decoded).sort(), Object.keys(expected).sort(), path);
    for (const [field, item] of Object.entries(decoded)) {
      assertSameData(item, (expected as Json)[field], (raw as Json)[field], `${path}.${field}`);
    }
  } else {
    assert.equal(decoded, expected, path);
  }
}

/** The key the decoder should give: the key in the value, else the message key; arrays numbered, objects kept. */
function expectedKey(raw: unknown, expected: Expected): unknown {
  if (Array.isArray(raw)) return Object.fromEntries(raw.map((value, index) => [String(index), value]));
  if (raw !== null && typeof raw === 'object') return 'payload' in raw && 'schema' in raw ? raw.payload : raw;
  const primaryKeys = expected.source?.primary_keys as string[] | undefined;
  const row = (expected.after ?? expected.before) as Json | null;
  return primaryKeys && row ? Object.fromEntries(primaryKeys.map((name) => [name, row[name]])) : null;
}

/**
 * The op the message itself can tell: without `diff` (no `before`) a wrapped, bare or row UPDATE looks exactly
 * like an INSERT (line 14's note says so), and decodes as one.
 */
function expectedOp(vector: ChangefeedVector, expected: Expected): string {
  const told = vector.envelope === 'enriched' || (expected.before !== null && expected.before !== undefined);
  return vector.kind === 'update' && !told ? 'insert' : vector.kind;
}

/** Under auto, a bare value without `__crdb__` is indistinguishable from a row value (and means the same). */
function expectedEnvelope(vector: ChangefeedVector, value: unknown, auto: boolean): string {
  const bareWithoutMeta = vector.envelope === 'bare' && !Object.hasOwn(value as Json, '__crdb__');
  return auto && bareWithoutMeta ? 'row' : vector.envelope;
}

function assertChange(
  vector: ChangefeedVector,
  auto: boolean,
  record: ChangeRecord,
  value: unknown,
  raw: unknown,
  messageKey: unknown,
  topic: unknown,
): void {
  const expected = expectedParts(vector.envelope, value);
  const digits = expectedParts(vector.envelope, raw);
  assert.equal(record.op, expectedOp(vector, expected));
  assertSameData(record.after, withJsonNulls(expected.after), digits.after, 'after');
  assertSameData(record.before, withJsonNulls(expected.before), digits.before, 'before');
  assert.deepEqual(record.key, expectedKey(expected.key ?? messageKey, expected));
  assert.equal(record.source.name, 'crdb');
  assert.equal(record.source.envelope, expectedEnvelope(vector, value, auto));

  const source = expected.source;
  const table = source
    ? `${String(source.database_name)}.${String(source.schema_name)}.${String(source.table_name)}`
    : (vector.sinkless_row?.table ?? expected.topic ?? topic);
  assert.equal(record.source.table, table ?? undefined);

  if (expected.version === undefined) {
    assert.equal(record.source.hlc, undefined);
    assert.equal(record.sourceTimeMs, null);
  } else {
    assert.equal(record.source.hlc, expected.version);
    const wallNanos = (expected.version as string).split('.')[0]!;
    assert.equal(record.sourceTimeMs, Number(BigInt(wallNanos) / 1_000_000n));
  }
  if (source) {
    for (const [field, item] of Object.entries(source)) {
      assertSameData(record.source[field], item, (digits.source as Json)[field], `source.${field}`);
    }
    if (source.ts_ns !== undefined) assert.equal(typeof record.source.ts_ns, 'bigint');
  }
}

function assertVector(vector: ChangefeedVector, auto: boolean, events: ChangefeedEvent[]): void {
  const raw = rawDigits(vector);
  if (vector.framing === 'webhook_batch') {
    const payload = (vector.value as { payload: unknown[] }).payload;
    const rawPayload = (raw as { payload: unknown[] }).payload;
    assert.equal(events.length, payload.length);
    events.forEach((event, index) => {
      assert.equal(event.kind, 'change');
      if (event.kind === 'change') {
        assertChange(vector, auto, event.record, payload[index], rawPayload[index], undefined, undefined);
        assert.equal(event.record.source.position, `vectors:${vector.line}#${index}`);
      }
    });
    return;
  }
  assert.equal(events.length, 1);
  const event = events[0]!;
  if (vector.kind === 'resolved') {
    const value = vector.value as { resolved?: string; __crdb__?: { resolved: string } };
    assert.equal(event.kind, 'resolved');
    if (event.kind === 'resolved')
      assert.equal(event.hlc.toString(), value.resolved ?? value.__crdb__?.resolved);
    return;
  }
  assert.equal(event.kind, 'change');
  if (event.kind === 'change') {
    assertChange(vector, auto, event.record, vector.value, raw, vector.key ?? undefined, vector.topic);
    assert.equal(event.record.source.position, `vectors:${vector.line}`);
  }
}

void describe('CockroachDB changefeed vectors (format=json)', () => {
  void test('the fixture holds the 50 recorded messages: 46 JSON, 4 Avro', () => {
    assert.equal(vectors.length, 50);
    assert.equal(jsonVectors.length, 46);
    assert.equal(avroVectors.length, 4);
  });

  for (const vector of jsonVectors) {
    const name = `line ${vector.line}: ${vector.envelope} ${vector.kind}${vector.options ? ` (${vector.options})` : ''}`;
    void test(`${name}, decoded with its envelope`, () => {
      assertVector(vector, false, decodeVector(vector, vector.envelope));
    });
    if (vector.envelope !== 'key_only') {
      void test(`${name}, decoded with envelope auto`, () => {
        assertVector(vector, true, decodeVector(vector, 'auto'));
      });
    }
  }

  void test('key_only messages under auto read as row tombstones (deletes): a key_only feed must say so', () => {
    const keyOnly = jsonVectors.filter((vector) => vector.envelope === 'key_only');
    assert.equal(keyOnly.length, 2);
    for (const vector of keyOnly) {
      const [event] = decodeVector(vector, 'auto');
      assert.equal(event?.kind, 'change');
      if (event?.kind === 'change') {
        assert.equal(event.record.op, 'delete');
        assert.equal(event.record.source.envelope, 'row');
      }
    }
  });

  void test('decimals keep their digits: 129.50, 50.00, 45.00, 22.30, 12.50 arrive as Decimals', () => {
    const prices: string[] = [];
    for (const vector of jsonVectors) {
      for (const event of decodeVector(vector, vector.envelope)) {
        if (event.kind !== 'change') continue;
        for (const row of [event.record.after, event.record.before]) {
          for (const value of Object.values(row ?? {})) if (value instanceof Decimal) prices.push(value.text);
        }
      }
    }
    assert.deepEqual(prices.sort(), ['12.50', '12.50', '129.50', '22.30', '45.00', '50.00']);
  });

  void test('Avro-framed bytes (magic 0, schema id) are not JSON: they fail with CRDB_DECODE, never decode as garbage', () => {
    for (const vector of avroVectors) {
      const framed = new Uint8Array([0, 0, 0, 0, 7, ...new TextEncoder().encode(vector.value_raw)]);
      assert.throws(
        () =>
          decodeChangefeedMessage(
            { key: null, value: framed, topic: vector.topic },
            options(vector.envelope, vector.line),
          ),
        (error: unknown) =>
          error instanceof ChangefeedDecodeError &&
          error.code === 'CRDB_DECODE' &&
          error.message.includes(`vectors:${vector.line}`),
      );
    }
  });
});
