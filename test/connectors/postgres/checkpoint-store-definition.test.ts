import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { defaultRegistry } from '../../../cli/registry.js';
import { ConfigError, parsePipeline, pipelineJsonSchema } from '../../../runtime/config/index.js';

/** A bounded pipeline with `checkpoints` appended, one YAML line per entry, so line numbers read plainly. */
const pipeline = (...checkpoints: string[]): string =>
  [
    'name: p',
    'sources:',
    '  orders: { type: generate, count: 3 }',
    'sinks:',
    '  out: { from: orders, type: file, path: ./out.jsonl }',
    ...checkpoints,
    '',
  ].join('\n');

const ENV = { PG_URL: 'postgres://app:s3cret@db:5432/shop' };

/** The `FILE:LINE:COL: message` lines for a document the loader must reject. */
async function problems(text: string): Promise<string[]> {
  try {
    await parsePipeline(text, 'p.yaml', defaultRegistry(), { env: ENV });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.format().split('\n');
  }
  assert.fail('expected the config to be rejected');
}

describe('the checkpoints: section', () => {
  test('a postgres store parses into the spec; without the section there is none', async () => {
    const spec = await parsePipeline(
      pipeline('checkpoints:', '  type: postgres', '  url: ${PG_URL}', '  table: state.checkpoints'),
      'p.yaml',
      defaultRegistry(),
      { env: ENV },
    );
    assert.deepEqual(spec.checkpoints, {
      type: 'postgres',
      options: { url: ENV.PG_URL, table: 'state.checkpoints' },
      origin: { file: resolve('p.yaml'), path: ['checkpoints'] },
    });
    assert.ok(spec.secrets.includes('s3cret'));

    const defaults = await parsePipeline(
      pipeline('checkpoints: { type: postgres, host: db, user: app, database: shop }'),
      'p.yaml',
      defaultRegistry(),
      { env: ENV },
    );
    assert.deepEqual(defaults.checkpoints?.options, {
      host: 'db',
      user: 'app',
      database: 'shop',
      table: 'sluice_checkpoints',
    });

    const files = await parsePipeline(pipeline(), 'p.yaml', defaultRegistry(), { env: ENV });
    assert.equal(files.checkpoints, undefined);
  });

  test('an unknown type names the known ones at the value', async () => {
    assert.deepEqual(await problems(pipeline('checkpoints:', '  type: postgress', '  url: ${PG_URL}')), [
      'p.yaml:7:9: checkpoints.type: unknown checkpoint store type `postgress` (did you mean `postgres`?); known checkpoint store types: postgres',
    ]);
    assert.deepEqual(await problems(pipeline('checkpoints:', '  url: ${PG_URL}')), [
      'p.yaml:6:1: checkpoints: missing required field `type` (one of the checkpoint store types: postgres)',
    ]);
  });

  test('a missing connection, a bad table and an unknown option point at the field', async () => {
    assert.deepEqual(await problems(pipeline('checkpoints:', '  type: postgres', '  table: a.b.c')), [
      'p.yaml:6:1: checkpoints: expected a connection: url, or host (with user, password, database)',
      'p.yaml:8:10: checkpoints.table: expected a table name as "schema.table" or "table", got "a.b.c"',
    ]);
    assert.deepEqual(await problems(pipeline('checkpoints:', '  type: postgres', '  url: mysql://db/shop')), [
      'p.yaml:8:8: checkpoints.url: expected a URL starting with postgres:// or postgresql://',
    ]);
    const [unknown] = await problems(
      pipeline('checkpoints:', '  type: postgres', '  url: ${PG_URL}', '  from: orders'),
    );
    assert.match(
      unknown!,
      /^p\.yaml:9:3: checkpoints\.from: unknown key `from`; expected one of `url`, .*`table`/,
    );
  });

  test('the editor schema knows the section and its options', () => {
    const validate = new Ajv({ strict: false, allErrors: true }).compile(
      pipelineJsonSchema(defaultRegistry()),
    );
    const document = (checkpoints: string): unknown => parse(pipeline(checkpoints));
    assert.equal(
      validate(document('checkpoints: { type: postgres, url: postgres://db/shop, table: s.t }')),
      true,
    );
    assert.equal(
      validate(document('checkpoints: { type: postgres, url: postgres://db/shop, tabel: s.t }')),
      false,
    );
    assert.ok(validate.errors?.some((error) => error.params.additionalProperty === 'tabel'));
    assert.equal(validate(document('checkpoints: { type: files }')), false);
  });
});
