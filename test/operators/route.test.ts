import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { routeOperator, type RouteOperator } from '../../operators/route.js';
import { build, check, ids, records } from './operator-harness.js';

const routes = [
  { name: 'eu', when: 'after.region == "eu"' },
  { name: 'us', when: 'after.region == "us"' },
];
const route = (config: Record<string, unknown>) => build<RouteOperator>(routeOperator, config, 'by_region');

describe('route', () => {
  test('an empty batch gives empty branches', async () => {
    const operator = await route({ routes, default: 'other' });
    assert.deepEqual(await operator.process([]), { records: [], branches: { eu: [], us: [], other: [] } });
  });

  test('one record takes its branch', async () => {
    const operator = await route({ routes });
    const result = await operator.process(records([{ id: 1, region: 'us' }]));
    assert.deepEqual(result.records, []);
    assert.deepEqual(ids(result.branches!.us!), [1]);
    assert.deepEqual(result.branches!.eu, []);
  });

  test('many records: first matching route wins, the rest go to the default branch in order', async () => {
    const operator = await route({
      routes: [...routes, { name: 'europe', when: 'after.region in ["eu", "uk"]' }],
      default: 'other',
    });
    const result = await operator.process(
      records([
        { id: 1, region: 'eu' },
        { id: 2, region: 'apac' },
        { id: 3, region: 'us' },
        { id: 4, region: 'uk' },
        { id: 5 },
        { id: 6, region: 'eu' },
      ]),
    );
    assert.deepEqual(ids(result.branches!.eu!), [1, 6]);
    assert.deepEqual(ids(result.branches!.us!), [3]);
    assert.deepEqual(ids(result.branches!.europe!), [4]);
    assert.deepEqual(ids(result.branches!.other!), [2, 5]);
    assert.deepEqual(operator.stats(), { unrouted: 0, branches: { eu: 2, us: 1, europe: 1, other: 2 } });
  });

  test('without a default, unmatched records are dropped and counted', async () => {
    const operator = await route({ routes });
    const result = await operator.process(
      records([{ id: 1, region: 'eu' }, { id: 2, region: 'apac' }, { id: 3 }]),
    );
    assert.deepEqual(Object.keys(result.branches!), ['eu', 'us']);
    assert.deepEqual(ids(result.branches!.eu!), [1]);
    assert.equal(operator.stats().unrouted, 2);
  });

  test('match: all sends a record to every matching branch', async () => {
    const operator = await route({
      routes: [
        { name: 'big', when: 'after.amount > 100' },
        { name: 'eu', when: 'after.region == "eu"' },
      ],
      match: 'all',
      default: 'rest',
    });
    const result = await operator.process(
      records([
        { id: 1, amount: 500, region: 'eu' },
        { id: 2, amount: 5, region: 'eu' },
        { id: 3, amount: 5 },
      ]),
    );
    assert.deepEqual(ids(result.branches!.big!), [1]);
    assert.deepEqual(ids(result.branches!.eu!), [1, 2]);
    assert.deepEqual(ids(result.branches!.rest!), [3]);
  });

  test('a record a condition fails on goes to the DLQ, or stops the pipeline with on_error: fail', async () => {
    const failing = [{ name: 'big', when: 'int(after.amount) > 100' }];
    const dlq = await route({ routes: failing, default: 'small' });
    const result = await dlq.process(
      records([
        { id: 1, amount: '500' },
        { id: 2, amount: 'n/a' },
        { id: 3, amount: '1' },
      ]),
    );
    assert.deepEqual(ids(result.branches!.big!), [1]);
    assert.deepEqual(ids(result.branches!.small!), [3]);
    assert.match(result.dead![0]!.reason, /^cannot evaluate the condition of route big: /);

    const stop = await route({ routes: failing, default: 'small', on_error: 'fail' });
    const stopped = await stop.process(
      records([
        { id: 1, amount: '500' },
        { id: 2, amount: 'n/a' },
        { id: 3, amount: '1' },
      ]),
    );
    assert.deepEqual(ids(stopped.branches!.big!), [1]);
    assert.deepEqual(stopped.branches!.small, []);
    assert.equal(stopped.failure?.handled, 1);
    assert.equal(stopped.failure?.error.code, 'EXPRESSION_EVAL');
  });

  test('check reports duplicate route names and conditions that do not compile', async () => {
    const issues = await check(routeOperator, {
      routes: [
        { name: 'eu', when: 'after.region == "eu"' },
        { name: 'eu', when: 'after.region ==' },
      ],
    });
    assert.deepEqual(
      issues.map((issue) => issue.path),
      [
        ['routes', 1, 'name'],
        ['routes', 1, 'when'],
      ],
    );
    assert.equal(issues[1]!.offset, 15);
  });
});
