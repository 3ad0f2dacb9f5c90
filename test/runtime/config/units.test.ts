import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration, parseSize } from '../../../runtime/config/index.js';

describe('parseDuration', () => {
  test('numbers are milliseconds; text takes ms, s, m, h and combinations', () => {
    assert.equal(parseDuration(250), 250);
    assert.equal(parseDuration('200ms'), 200);
    assert.equal(parseDuration('5s'), 5_000);
    assert.equal(parseDuration('2m'), 120_000);
    assert.equal(parseDuration('1h'), 3_600_000);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5s'), 1_500);
    assert.equal(parseDuration('750'), 750);
  });

  test('anything else is INVALID_DURATION saying what came', () => {
    for (const bad of ['5 parsecs', '-1s', '', 's', -5, Number.NaN, null, [1]]) {
      assert.throws(() => parseDuration(bad), { code: 'INVALID_DURATION', message: /expected a duration/ });
    }
    assert.throws(() => parseDuration('soon'), { message: /got `soon`$/ });
  });
});

describe('parseSize', () => {
  test('numbers are bytes; text takes decimal and binary units', () => {
    assert.equal(parseSize(4096), 4096);
    assert.equal(parseSize('512KiB'), 512 * 1024);
    assert.equal(parseSize('8MiB'), 8 * 1024 * 1024);
    assert.equal(parseSize('1GiB'), 1024 ** 3);
    assert.equal(parseSize('10MB'), 10_000_000);
    assert.equal(parseSize('1.5KB'), 1_500);
    assert.equal(parseSize('100'), 100);
    assert.equal(parseSize('64 mib'), 64 * 1024 * 1024);
  });

  test('anything else is INVALID_SIZE saying what came', () => {
    for (const bad of ['8 parsecs', 'MiB', '-1KB', -1, true, {}]) {
      assert.throws(() => parseSize(bad), { code: 'INVALID_SIZE', message: /expected a size/ });
    }
  });
});
