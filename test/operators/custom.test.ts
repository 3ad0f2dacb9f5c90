import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { customOperator } from '../../operators/custom.js';
import type { BatchOperator } from '../../runtime/operator.js';
import { build, buildContext, check, ids, records } from './operator-harness.js';

const custom = (exportName: string, options?: Record<string, unknown>) =>
  build<BatchOperator>(
    customOperator,
    { module: './my-operator.ts', export: exportName, ...(options ? { options } : {}) },
    'mine',
  );

describe('custom', () => {
  test('an empty batch gives what the function returns for it', async () => {
    const operator = await custom('enrich', { tag: 'gold' });
    assert.deepEqual(await operator.process([]), { records: [] });
  });

  test('one record: the function gets the node and its options', async () => {
    const operator = await custom('enrich', { tag: 'gold' });
    const result = await operator.process(records([{ id: 1 }]));
    assert.deepEqual(result.records[0]!.after, { id: 1, tag: 'gold', node: 'mine' });
  });

  test('many records through an async function', async () => {
    const operator = await custom('evensLater');
    assert.deepEqual(
      ids(await operator.process(records([{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }]))),
      [2, 4],
    );
  });

  test('a function may return a full OperatorResult with branches and dead letters', async () => {
    const operator = await custom('split');
    const result = await operator.process(records([{ id: 1 }, { id: -1 }, { id: 20 }]));
    assert.deepEqual(ids(result.branches!.small!), [1]);
    assert.equal(result.dead?.[0]?.reason, 'negative id');
  });

  test('a throwing function stops the pipeline naming the node, with nothing handled', async () => {
    const operator = await custom('explode');
    const result = await operator.process(records([{ id: 1 }, { id: 2 }]));
    assert.deepEqual(result.records, []);
    assert.equal(result.failure?.handled, 0);
    assert.equal(result.failure?.error.code, 'OPERATOR_FAILED');
    assert.equal(
      result.failure?.error.message,
      'custom operator mine (explode from ./my-operator.ts) threw: enrichment service map is empty',
    );
    assert.equal((result.failure?.error.cause as Error).message, 'enrichment service map is empty');
  });

  test('a rejecting function and a function returning the wrong shape stop the pipeline too', async () => {
    const rejected = await (await custom('rejectLater')).process(records([{ id: 1 }]));
    assert.equal(
      rejected.failure?.error.message,
      'custom operator mine (rejectLater from ./my-operator.ts) rejected: lookup failed',
    );
    const wrong = await (await custom('wrongShape')).process(records([{ id: 1 }]));
    assert.equal(
      wrong.failure?.error.message,
      'custom operator mine (wrongShape from ./my-operator.ts) returned a string; expected an array of change records or an OperatorResult',
    );
  });

  test('loads compiled JavaScript modules', async () => {
    const operator = await build<BatchOperator>(customOperator, {
      module: './passthrough.mjs',
      export: 'passthrough',
    });
    assert.deepEqual(ids(await operator.process(records([{ id: 9 }]))), [9]);
  });

  test('check and create report a missing module and a missing export', async () => {
    const missing = await check(customOperator, { module: './nowhere.js', export: 'x' });
    assert.deepEqual(
      missing.map((issue) => issue.path),
      [['module']],
    );
    assert.match(missing[0]!.message, /^could not load module \.\/nowhere\.js \(resolved to .*nowhere\.js\)/);
    const noExport = await check(customOperator, { module: './my-operator.ts', export: 'enrichh' });
    assert.deepEqual(noExport, [
      {
        path: ['export'],
        message:
          'expected module ./my-operator.ts to export a function named enrichh, got no such export; it exports the functions enrich, evensLater, explode, rejectLater, split, wrongShape',
      },
    ]);
    await assert.rejects(
      Promise.resolve(
        customOperator.create({ module: './my-operator.ts', export: 'nope' }, buildContext('mine')),
      ),
      {
        code: 'MODULE_EXPORT_INVALID',
      },
    );
  });
});
