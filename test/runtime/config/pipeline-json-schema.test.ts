import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { pipelineJsonSchema } from '../../../runtime/config/index.js';
import { testRegistry } from './test-registry.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/config');

/** The mapping at `path` inside a parsed document. */
const at = (value: unknown, ...path: string[]): Record<string, unknown> =>
  path.reduce((current, key) => (current as Record<string, unknown>)[key], value) as Record<string, unknown>;

test('the quickstart-like example validates against the editor schema; mistakes do not', async () => {
  const validate = new Ajv({ strict: false, allErrors: true }).compile(pipelineJsonSchema(testRegistry));
  const document = parse(await readFile(resolve(FIXTURES, 'quickstart.yaml'), 'utf8'));
  assert.equal(validate(document), true, JSON.stringify(validate.errors));

  const misspelt = structuredClone(document);
  at(misspelt, 'sources', 'orders').formt = 'csv';
  assert.equal(validate(misspelt), false);
  assert.ok(validate.errors?.some((error) => error.params.additionalProperty === 'formt'));

  const wrongType = structuredClone(document);
  at(wrongType, 'operators', 'paid').type = 'nope';
  assert.equal(validate(wrongType), false);

  const badBatch = structuredClone(document);
  at(badBatch, 'sinks', 'out', 'batch').max_wait = 'soon';
  assert.equal(validate(badBatch), false);
});

test('node types carry the components’ summaries', () => {
  const schema = pipelineJsonSchema(testRegistry);
  assert.deepEqual(at(schema, 'definitions', 'operator', 'properties', 'type').anyOf, [
    { const: 'filter', description: 'Keeps the records an expression accepts.' },
    { const: 'router', description: 'Sends records to named branches.' },
  ]);
});
