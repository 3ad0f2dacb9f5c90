import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseArrayLiteral } from '../../../connectors/postgres/cdc-array-literal.js';
import { Lsn } from '../../../connectors/postgres/cdc-lsn.js';
import { decodeTextValue } from '../../../connectors/postgres/cdc-text-value.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { SluiceError } from '../../../runtime/errors.js';

describe('postgres text values', () => {
  test('array literals: quoting, escapes, NULL, nesting and dimension prefixes', () => {
    assert.deepEqual(parseArrayLiteral('{}'), []);
    assert.deepEqual(parseArrayLiteral('{a,"b c",NULL,"NULL","x\\"y\\\\z"}'), ['a', 'b c', null, 'NULL', 'x"y\\z']);
    assert.deepEqual(parseArrayLiteral('{{1,2},{3,NULL}}'), [['1', '2'], ['3', null]]);
    assert.deepEqual(parseArrayLiteral('[0:1]={7,8}'), ['7', '8']);
    assert.throws(() => parseArrayLiteral('{1,2'), (error: SluiceError) => error.code === 'PG_ARRAY_INVALID');
  });

  test('numbers keep every digit; special values stay numbers', () => {
    assert.equal(decodeTextValue(20, '9007199254740991'), 9007199254740991);
    assert.equal(decodeTextValue(20, '-9223372036854775808'), -9223372036854775808n);
    assert.deepEqual(decodeTextValue(1700, '26.30'), new Decimal('26.30'));
    assert.ok(Number.isNaN(decodeTextValue(1700, 'NaN')));
    assert.equal(decodeTextValue(701, '-Infinity'), -Infinity);
    assert.deepEqual(decodeTextValue(1016, '{1,9223372036854775807}'), [1, 9223372036854775807n]);
  });

  test('timestamptz: a Date when milliseconds suffice, exact UTC text with microseconds, offsets applied', () => {
    assert.deepEqual(decodeTextValue(1184, '2024-05-01 10:00:00+00'), new Date('2024-05-01T10:00:00Z'));
    assert.deepEqual(decodeTextValue(1184, '2024-05-01 10:00:00.12+05:30'), new Date('2024-05-01T04:30:00.120Z'));
    assert.equal(decodeTextValue(1184, '2024-05-01 00:00:00.000001-01'), '2024-05-01T01:00:00.000001Z');
    assert.equal(decodeTextValue(1184, 'infinity'), 'infinity');
  });

  test('bytea in hex and escape output, json with big numbers, other types as text', () => {
    assert.deepEqual(decodeTextValue(17, '\\x00ff'), new Uint8Array([0, 255]));
    assert.deepEqual(decodeTextValue(17, 'a\\000\\\\'), new Uint8Array([0x61, 0, 0x5c]));
    assert.deepEqual(decodeTextValue(3802, '{"n": 12345678901234567890}'), { n: 12345678901234567890n });
    assert.equal(decodeTextValue(2950, '8c1f5a8e-0000-4000-8000-000000000000'), '8c1f5a8e-0000-4000-8000-000000000000');
    assert.equal(decodeTextValue(16, 'f'), false);
  });

  test('LSNs round-trip between text and position', () => {
    assert.equal(Lsn.parse('16/B374D848'), 0x16b374d848n);
    assert.equal(Lsn.format(0x16b374d848n), '16/B374D848');
    assert.throws(() => Lsn.parse('16B374D848'), (error: SluiceError) => error.code === 'PG_LSN_INVALID');
  });
});
