import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareVersions, encodeVersion, versionOf } from '../../../connectors/postgres/version.js';
import { Decimal } from '../../../runtime/decimal.js';

test('versions become exact decimal text', () => {
  assert.equal(versionOf(42), '42');
  assert.equal(versionOf(18_446_744_073_709_551_615n), '18446744073709551615');
  assert.equal(versionOf('1747243394200039000.0000000000'), '1747243394200039000.0000000000');
  assert.equal(versionOf(new Decimal('1.5e3')), '1500');
  assert.equal(versionOf(new Decimal('25e-3')), '0.025');
  assert.equal(versionOf('16/B374D848'), String((0x16n << 32n) | 0xb374d848n));
  assert.equal(versionOf(new Date(1_700_000_000_123)), '1700000000123');
  assert.equal(versionOf('2025-05-14T17:23:14.200Z'), String(Date.parse('2025-05-14T17:23:14.200Z')));
  assert.equal(versionOf(null), undefined);
  assert.equal(versionOf('not a version'), undefined);
  assert.equal(versionOf({ a: 1 }), undefined);
});

test('versions compare numerically, beyond double precision', () => {
  assert.ok(compareVersions('1747243394200039000.0000000002', '1747243394200039000.0000000001') > 0);
  assert.ok(compareVersions('9', '10') < 0);
  assert.ok(compareVersions('-5', '3') < 0);
  assert.ok(compareVersions('-5', '-3') < 0);
  assert.equal(compareVersions('1.50', '1.5'), 0);
  assert.ok(compareVersions('18446744073709551615', '18446744073709551614') > 0);
});

test('versions are written in the version column type', () => {
  assert.equal(
    encodeVersion(String((0x1n << 32n) | 0xa0n), { type: 'pg_lsn', category: 'U', elementType: null }),
    '1/A0',
  );
  assert.equal(
    encodeVersion('1700000000123', { type: 'timestamp with time zone', category: 'D', elementType: null }),
    '2023-11-14T22:13:20.123Z',
  );
  assert.equal(encodeVersion('12.5', { type: 'numeric', category: 'N', elementType: null }), '12.5');
});
