import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodePgoutput, type PgoutputColumn } from '../../connectors/postgres/cdc-pgoutput.js';
import { SluiceError } from '../../runtime/errors.js';

/** Writes pgoutput (protocol version 1) messages the way the server does, for the round-trip properties. */
class Writer {
  readonly #parts: Buffer[] = [];
  byte(char: string): this {
    this.#parts.push(Buffer.from(char, 'latin1'));
    return this;
  }
  int8(value: number): this {
    const buffer = Buffer.alloc(1);
    buffer.writeInt8(value);
    this.#parts.push(buffer);
    return this;
  }
  int16(value: number): this {
    const buffer = Buffer.alloc(2);
    buffer.writeInt16BE(value);
    this.#parts.push(buffer);
    return this;
  }
  uint32(value: number): this {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(value);
    this.#parts.push(buffer);
    return this;
  }
  uint64(value: bigint): this {
    const buffer = Buffer.alloc(8);
    buffer.writeBigUInt64BE(value);
    this.#parts.push(buffer);
    return this;
  }
  string(text: string): this {
    this.#parts.push(Buffer.from(text, 'utf8'), Buffer.alloc(1));
    return this;
  }
  tuple(columns: readonly PgoutputColumn[]): this {
    this.int16(columns.length);
    for (const column of columns) {
      if (column.kind === 'null') this.byte('n');
      else if (column.kind === 'unchanged') this.byte('u');
      else {
        const text = Buffer.from(column.text, 'utf8');
        this.byte('t').uint32(text.length);
        this.#parts.push(text);
      }
    }
    return this;
  }
  done(): Buffer {
    return Buffer.concat(this.#parts);
  }
}

const column = fc.oneof(
  fc.constant<PgoutputColumn>({ kind: 'null' }),
  fc.constant<PgoutputColumn>({ kind: 'unchanged' }),
  fc.string().map((text): PgoutputColumn => ({ kind: 'text', text })),
);
const tuple = fc.array(column, { maxLength: 6 });
const oid = fc.integer({ min: 1, max: 2 ** 32 - 1 });
const name = fc.string({ minLength: 1 }).filter((text) => !text.includes('\0'));

/** Valid messages as bytes, with what they must decode to (a subset of the fields, checked exactly). */
const validMessage = fc.oneof(
  fc.tuple(oid, tuple).map(([id, columns]) => ({
    bytes: new Writer().byte('I').uint32(id).byte('N').tuple(columns).done(),
    expected: { tag: 'insert', oid: id, newTuple: columns },
  })),
  fc
    .tuple(oid, fc.option(fc.tuple(fc.constantFrom('K', 'O'), tuple), { nil: null }), tuple)
    .map(([id, old, columns]) => {
      const writer = new Writer().byte('U').uint32(id);
      if (old !== null) writer.byte(old[0]).tuple(old[1]);
      return {
        bytes: writer.byte('N').tuple(columns).done(),
        expected: {
          tag: 'update',
          oid: id,
          old: old === null ? null : { kind: old[0] === 'K' ? 'key' : 'row', tuple: old[1] },
          newTuple: columns,
        },
      };
    }),
  fc.tuple(oid, fc.constantFrom('K', 'O'), tuple).map(([id, marker, columns]) => ({
    bytes: new Writer().byte('D').uint32(id).byte(marker).tuple(columns).done(),
    expected: { tag: 'delete', oid: id, old: { kind: marker === 'K' ? 'key' : 'row', tuple: columns } },
  })),
  fc
    .tuple(oid, name, name, fc.array(fc.tuple(fc.boolean(), name, oid), { maxLength: 5 }))
    .map(([id, schema, table, columns]) => {
      const writer = new Writer()
        .byte('R')
        .uint32(id)
        .string(schema)
        .string(table)
        .byte('d')
        .int16(columns.length);
      for (const [isKey, columnName, typeOid] of columns)
        writer
          .int8(isKey ? 1 : 0)
          .string(columnName)
          .uint32(typeOid)
          .uint32(0xffffffff);
      return {
        bytes: writer.done(),
        expected: {
          tag: 'relation',
          oid: id,
          schema,
          table,
          replicaIdentity: 'd',
          columns: columns.map(([isKey, columnName, typeOid]) => ({ name: columnName, typeOid, isKey })),
        },
      };
    }),
  fc
    .tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.integer({ min: 0, max: 2 ** 32 - 1 }))
    .map(([lsn, xid]) => ({
      bytes: new Writer().byte('B').uint64(lsn).uint64(0n).uint32(xid).done(),
      expected: { tag: 'begin', finalLsn: lsn, xid },
    })),
);

/** The message decoded, or the error thrown; an error that is not PG_PGOUTPUT_INVALID fails the property. */
function decodeOrRefuse(bytes: Buffer): { message: Record<string, unknown> } | { refused: SluiceError } {
  try {
    return { message: decodePgoutput(bytes) as unknown as Record<string, unknown> };
  } catch (error) {
    assert.ok(error instanceof SluiceError, `expected a SluiceError, got ${String(error)}`);
    assert.equal(error.code, 'PG_PGOUTPUT_INVALID');
    return { refused: error };
  }
}

describe('fuzz: pgoutput messages (connectors/postgres/cdc-pgoutput.ts)', () => {
  test('every valid message decodes to what was written', () => {
    fc.assert(
      fc.property(validMessage, ({ bytes, expected }) => {
        const outcome = decodeOrRefuse(bytes);
        assert.ok(
          'message' in outcome,
          `refused a valid message: ${'refused' in outcome ? outcome.refused.message : ''}`,
        );
        for (const [field, value] of Object.entries(expected))
          assert.deepEqual(outcome.message[field], value, field);
      }),
      { numRuns: 2_000 },
    );
  });

  test('a valid data message cut short anywhere is refused with PG_PGOUTPUT_INVALID, never read as shorter data', () => {
    fc.assert(
      fc.property(validMessage, fc.nat(), ({ bytes }, at) => {
        fc.pre(bytes.length > 1);
        const cut = 1 + (at % (bytes.length - 1));
        const outcome = decodeOrRefuse(bytes.subarray(0, cut));
        assert.ok(
          'refused' in outcome,
          `decoded ${cut} of ${bytes.length} bytes as ${JSON.stringify(outcome, (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`,
        );
      }),
      { numRuns: 2_000 },
    );
  });

  test('random bytes after any tag decode or are refused with PG_PGOUTPUT_INVALID, nothing else', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('B', 'C', 'R', 'I', 'U', 'D', 'T', 'Y', 'O', 'M'),
        fc.uint8Array({ maxLength: 64 }),
        (tag, body) => {
          decodeOrRefuse(Buffer.concat([Buffer.from(tag), body]));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
