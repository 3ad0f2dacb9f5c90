import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { CompiledExpression } from '../../../runtime/expression/index.js';
import { compileExpression, EXPRESSION_FUNCTIONS } from '../../../runtime/expression/index.js';
import { orderChange } from './record-fixture.js';

void test('every function is listed once with a signature and a description', () => {
  const names = EXPRESSION_FUNCTIONS.map((f) => f.name);
  assert.equal(new Set(names).size, names.length);
  for (const name of [
    'size',
    'lower',
    'matches',
    'round',
    'coalesce',
    'timestamp',
    'format_date',
    'hmac_sha256',
    'string',
  ]) {
    assert.ok(names.includes(name), name);
  }
  for (const f of EXPRESSION_FUNCTIONS) {
    assert.ok(f.signature.startsWith(`${f.name}(`), f.signature);
    assert.ok(f.description.length > 5, f.name);
  }
});

void test('the doc comment table (copied into the README) has a row for every function', () => {
  const source = readFileSync(
    new URL('../../../runtime/expression/expression-functions.ts', import.meta.url),
    'utf8',
  );
  for (const f of EXPRESSION_FUNCTIONS)
    assert.ok(source.includes(` * | \`${f.signature}\` | ${f.description} |`), f.signature);
});

void test('every listed function compiles with some argument count and accepts nulls', () => {
  const record = orderChange({ x: null });
  const attempt = (text: string): CompiledExpression | null => {
    try {
      return compileExpression(text);
    } catch {
      return null;
    }
  };
  for (const f of EXPRESSION_FUNCTIONS) {
    const compiled = [1, 2, 3]
      .map((count) => attempt(`${f.name}(${Array.from({ length: count }, () => 'after.x').join(', ')})`))
      .find((c) => c !== null);
    assert.ok(compiled, f.name);
    assert.doesNotThrow(() => compiled.evaluate(record), f.name);
  }
});
