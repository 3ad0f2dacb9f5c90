import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  CHANGEFEED_ENVELOPES,
  ChangefeedDecodeError,
  type ChangefeedEnvelope,
  type ChangefeedEvent,
  decodeChangefeedMessage,
  decodeSinklessRow,
  decodeWebhookBody,
  Hlc,
} from '../../../connectors/crdb/index.js';
import { stringifyJson } from '../../../runtime/json.js';
import type { Value } from '../../../runtime/record.js';
import { loadChangefeedVectors } from './changefeed-vectors.js';

const envelope = fc.constantFrom<ChangefeedEnvelope>(...CHANGEFEED_ENVELOPES);
const fieldName = fc.oneof(
  fc.constantFrom(
    'after',
    'before',
    'op',
    'key',
    'topic',
    'updated',
    'mvcc_timestamp',
    'ts_ns',
    'source',
    'payload',
    'schema',
  ),
  fc.constantFrom(
    'resolved',
    '__crdb__',
    '__crdb_json_null__',
    'primary_keys',
    'table_name',
    'ts_hlc',
    'fields',
    'field',
    'length',
  ),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'name', 'position', 'table'),
  fc.string({ maxLength: 6 }),
);
const leaf = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    'c',
    'u',
    'd',
    'r',
    '1747243394200039000.0000000000',
    '1.0000000000?',
    'x',
    '',
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 8 }),
);
/** JSON trees made of the field names and values a changefeed decoder looks at, so random input reaches deep. */
const { tree } = fc.letrec<{ tree: unknown }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(fieldName, tie('tree'), { maxKeys: 6 }),
  ),
}));
/** Big numbers written out as JSON text (bigint, long decimals, exponents) spliced into random documents. */
const numberText = fc.oneof(
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
  fc.constantFrom('26.30', '0.000000001', '1e400', '-0', '9223372036854775808', '1747243394200039000'),
);
/** Mostly `valid`, sometimes any leaf value: fields of the right type reach deep, wrong ones test the checks. */
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: valid, weight: 5 }, { arbitrary: leaf, weight: 1 });
const hlcText = mostly(
  fc
    .tuple(fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }), fc.integer({ min: 0, max: 2 ** 31 - 1 }))
    .map(([wall, logical]) => new Hlc(wall, logical).toString()),
);
const row = fc.dictionary(fieldName, leaf, { maxKeys: 4 });
const rowish = mostly(fc.oneof(row, fc.constant(null)));
/** Messages shaped like each envelope, with each field sometimes of the wrong type, so every reader is reached. */
const shaped = fc.oneof(
  fc.record(
    {
      after: rowish,
      before: rowish,
      key: mostly(fc.array(leaf, { maxLength: 3 })),
      topic: mostly(fc.string()),
      updated: hlcText,
      mvcc_timestamp: hlcText,
    },
    { requiredKeys: ['after'] },
  ),
  fc.record(
    {
      after: rowish,
      before: rowish,
      op: mostly(fc.constantFrom('c', 'u', 'd')),
      ts_ns: mostly(fc.bigInt({ min: 0n, max: 2n ** 63n })),
      key: mostly(row),
      source: fc.record(
        {
          table_name: mostly(fc.string()),
          schema_name: leaf,
          database_name: leaf,
          primary_keys: mostly(fc.array(fieldName, { maxLength: 3 })),
          ts_hlc: hlcText,
          mvcc_timestamp: hlcText,
          ts_ns: mostly(fc.bigInt({ min: 0n, max: 2n ** 63n })),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: ['op', 'after'] },
  ),
  fc.record(
    {
      __crdb__: fc.record(
        { key: tree, topic: leaf, updated: hlcText, resolved: hlcText },
        { requiredKeys: [] },
      ),
      a: leaf,
    },
    { requiredKeys: ['__crdb__'] },
  ),
  fc.record({ resolved: hlcText }),
);
const jsonText = fc.oneof(
  tree.map((value) => JSON.stringify(value) ?? 'null'),
  shaped.map((value) => stringifyJson(value as Value)),
  shaped.map((value) => stringifyJson({ payload: value as Value, schema: { type: 'struct', fields: [] } })),
  fc
    .tuple(tree, numberText)
    .map(([value, number]) => (JSON.stringify(value) ?? 'null').replace(/-?\d+(\.\d+)?/, number)),
  fc.json(),
);
const bytes = fc.uint8Array({ maxLength: 64 });
const part = fc.oneof(fc.constant(null), jsonText, bytes, fc.string({ maxLength: 20 }));

/** Decoding either succeeds with a well-formed event or throws ChangefeedDecodeError; nothing else. */
function decodesOrRejects(run: () => ChangefeedEvent | ChangefeedEvent[]): void {
  let events: ChangefeedEvent[];
  try {
    const result = run();
    events = Array.isArray(result) ? result : [result];
  } catch (error) {
    if (error instanceof ChangefeedDecodeError && error.code === 'CRDB_DECODE') return;
    throw error;
  }
  for (const event of events) assertWellFormed(event);
}

function assertWellFormed(event: ChangefeedEvent): void {
  if (event.kind === 'resolved') {
    assert.ok(event.hlc instanceof Hlc);
    return;
  }
  const record = event.record;
  assert.ok(['insert', 'update', 'delete'].includes(record.op), record.op);
  if (record.op === 'delete') assert.equal(record.after, null);
  if (record.op === 'update') assert.ok(record.after !== null);
  assert.ok(
    record.key !== null || record.after !== null || record.before !== null,
    'a change must say which row',
  );
  for (const row of [record.key, record.before, record.after]) {
    if (row !== null)
      assert.ok(
        typeof row === 'object' && !Array.isArray(row) && Object.getPrototypeOf(row) === Object.prototype,
      );
  }
  assert.equal(record.source.name, 'fuzz');
  assert.ok(typeof record.source.position === 'string' && record.source.position.startsWith('fuzz:'));
  const hlc = record.source.hlc;
  if (hlc !== undefined) {
    assert.ok(typeof hlc === 'string');
    assert.equal(Hlc.parse(hlc).toString(), hlc);
    assert.ok(Number.isSafeInteger(record.sourceTimeMs));
  } else {
    assert.equal(record.sourceTimeMs, null);
  }
}

const options = (env: ChangefeedEnvelope, keyColumns?: Record<string, string[]>) => ({
  envelope: env,
  sourceName: 'fuzz',
  position: 'fuzz:1',
  ingestTimeMs: 0,
  keyColumns,
});
const keyColumns = fc.option(
  fc.dictionary(
    fc.constantFrom('t', 'foo', 'constructor', '__proto__'),
    fc.array(fieldName, { maxLength: 3 }),
  ),
  {
    nil: undefined,
  },
);

void describe('hostile input never crashes the decoders', () => {
  void test('random bytes and text as key and value', () => {
    fc.assert(
      fc.property(
        part,
        part,
        envelope,
        fc.option(fc.string({ maxLength: 5 }), { nil: undefined }),
        (key, value, env, topic) => {
          decodesOrRejects(() => decodeChangefeedMessage({ key, value, topic }, options(env)));
        },
      ),
      { numRuns: 2000 },
    );
  });

  void test('random JSON built from envelope field names, with key columns', () => {
    fc.assert(
      fc.property(
        fc.option(jsonText, { nil: null }),
        jsonText,
        envelope,
        keyColumns,
        (key, value, env, columns) => {
          decodesOrRejects(() =>
            decodeChangefeedMessage({ key, value, topic: 'foo', table: 't' }, options(env, columns)),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });

  void test('recorded messages, truncated or spliced at random', () => {
    const raws = loadChangefeedVectors().map((vector) => vector.value_raw);
    const mutated = fc
      .tuple(fc.constantFrom(...raws), fc.nat(), fc.nat(), fc.string({ maxLength: 4 }))
      .map(([raw, at, cut, insert]) => {
        const start = at % (raw.length + 1);
        return raw.slice(0, start) + insert + raw.slice(start + (cut % 8));
      });
    fc.assert(
      fc.property(mutated, envelope, (value, env) => {
        decodesOrRejects(() => decodeChangefeedMessage({ key: '[1]', value }, options(env)));
        decodesOrRejects(() => decodeWebhookBody(value, options(env)));
      }),
      { numRuns: 2000 },
    );
  });

  void test('random webhook bodies and sinkless rows', () => {
    const body = fc.oneof(
      jsonText,
      bytes,
      fc
        .tuple(fc.array(tree, { maxLength: 4 }), fc.integer({ min: -1, max: 5 }))
        .map(([payload, length]) => JSON.stringify({ payload, length })),
    );
    fc.assert(
      fc.property(body, envelope, (text, env) =>
        decodesOrRejects(() => decodeWebhookBody(text, options(env))),
      ),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(
        fc.option(fc.string({ maxLength: 5 }), { nil: null }),
        part,
        part,
        envelope,
        (table, key, value, env) =>
          decodesOrRejects(() => decodeSinklessRow({ table, key, value }, options(env))),
      ),
      { numRuns: 1500 },
    );
  });

  void test('deeply nested JSON is decoded or rejected, not a stack overflow', () => {
    const deep = `{"after": {"doc": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    decodesOrRejects(() => decodeChangefeedMessage({ key: '[1]', value: deep }, options('wrapped')));
    const deepExact = `{"after": {"price": 26.30, "doc": ${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;
    decodesOrRejects(() => decodeChangefeedMessage({ key: '[1]', value: deepExact }, options('wrapped')));
  });
});
