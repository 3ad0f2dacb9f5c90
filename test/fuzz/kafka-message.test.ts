import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import type { Message } from 'node-rdkafka';
import { DecodeError } from '../../connectors/kafka/decode-error.js';
import { decodePayload } from '../../connectors/kafka/decode-payload.js';
import { messageToRecord } from '../../connectors/kafka/message-to-record.js';
import type { KeyFormat, PayloadFormat } from '../../connectors/kafka/payload-format.js';
import { notAValue } from './is-value.js';

const packr = new Packr({ useRecords: false });

/** MessagePack documents: random bytes, valid values packed (msgpackr's own extensions included), and both cut or spliced. */
const packable = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, undefined, true, 0, -1, 2 ** 53 + 2, Number.NaN, Infinity, '', '__proto__'),
    fc.integer(),
    fc.double(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    fc.string(),
    fc.date({ noInvalidDate: false }),
    fc.uint8Array({ maxLength: 8 }),
    fc.constantFrom(
      new Set([1]),
      new Map<unknown, unknown>([[1, 'a']]),
      /x/g,
      new Error('boom'),
      new Float64Array([1.5]),
    ),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor')), tie('value'), {
      maxKeys: 4,
    }),
  ),
})).value;
const msgpackBytes = fc.oneof(
  fc.uint8Array({ maxLength: 48 }).map((bytes) => Buffer.from(bytes)),
  packable.map((value) => packr.pack(value)),
  fc.tuple(packable, fc.nat(), fc.uint8Array({ maxLength: 3 })).map(([value, at, insert]) => {
    const packed = packr.pack(value);
    const cut = at % (packed.length + 1);
    return Buffer.concat([packed.subarray(0, cut), insert, packed.subarray(cut + 1)]);
  }),
);
const jsonBytes = fc.oneof(
  fc.json().map((text) => Buffer.from(text)),
  fc.json().map((text) => Buffer.from(text.slice(0, -1))),
  fc.uint8Array({ maxLength: 32 }).map((bytes) => Buffer.from(bytes)),
);

const message = (value: Buffer | null, key: Buffer | null): Message => ({
  topic: 'fuzz',
  partition: 2,
  offset: 17,
  value,
  key,
  size: value?.length ?? 0,
  timestamp: 1_700_000_000_000,
});

/** Decodes with `run`: a valid Sluice value or a thrown error; anything else fails. */
function valueOrError(run: () => unknown): { value: unknown } | { error: unknown } {
  let value: unknown;
  try {
    value = run();
  } catch (error) {
    return { error };
  }
  const wrong = notAValue(value);
  assert.equal(wrong, undefined, `decoded to something that is not a Sluice value: ${wrong}`);
  return { value };
}

describe('fuzz: Kafka message decoding (connectors/kafka)', () => {
  test('msgpack: any bytes decode to a Sluice value or are refused, never undefined, a Set, a Map or a RegExp', () => {
    fc.assert(
      fc.property(msgpackBytes, (bytes) => {
        valueOrError(() => decodePayload('msgpack', bytes));
      }),
      { numRuns: 3_000 },
    );
  });

  test('msgpack: a map key "__proto__" never reaches a prototype', () => {
    fc.assert(
      fc.property(packable, (inner) => {
        const bytes = Buffer.concat([
          Buffer.from([0x81, 0xa9]),
          Buffer.from('__proto__'),
          packr.pack({ polluted: inner }),
        ]);
        const outcome = valueOrError(() => decodePayload('msgpack', bytes));
        if ('value' in outcome) assert.equal(Object.getPrototypeOf(outcome.value), Object.prototype);
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      }),
      { numRuns: 300 },
    );
  });

  test('a message becomes a record of Sluice values or a DecodeError naming the part that is bad, for every format', () => {
    const formats = fc.constantFrom<PayloadFormat>('json', 'msgpack', 'string', 'bytes');
    const keyFormats = fc.constantFrom<KeyFormat>('json', 'string', 'bytes');
    fc.assert(
      fc.property(
        formats,
        keyFormats,
        fc.constantFrom<'rows' | 'changes'>('rows', 'changes'),
        fc.option(fc.oneof(msgpackBytes, jsonBytes), { nil: null }),
        fc.option(jsonBytes, { nil: null }),
        (format, keyFormat, records, value, key) => {
          const outcome = valueOrError(() => {
            const record = messageToRecord(
              message(value, key),
              { name: 'events', format, keyFormat, records },
              0,
            );
            assert.equal(record.source.position, 'fuzz/2@17');
            return { key: record.key, before: record.before, after: record.after };
          });
          if ('error' in outcome) {
            assert.ok(
              outcome.error instanceof DecodeError,
              `expected a DecodeError, got ${String(outcome.error)}`,
            );
            assert.match(outcome.error.message, /message (value|key) is not|change record/);
          }
        },
      ),
      { numRuns: 3_000 },
    );
  });
});
