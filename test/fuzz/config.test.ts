import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { defaultRegistry } from '../../cli/registry.js';
import { ConfigError } from '../../runtime/config/config-error.js';
import { parsePipeline } from '../../runtime/config/parse-pipeline.js';

const FILE = 'fuzz/pipeline.yaml';
const registry = defaultRegistry();
const examples = await Promise.all(
  [
    'quickstart.yaml',
    'data-quality.yaml',
    'crdb-webhook-to-postgres.yaml',
    'crdb-sinkless-to-postgres.yaml',
    'quickstart-kafka.yaml',
  ].map((name) => readFile(join(import.meta.dirname, '..', '..', 'examples', name), 'utf8')),
);
/** The secret the examples' URLs and Authorization value are set to. */
const SECRET = 's3cr3t-pa55';
const env = {
  KAFKA_BROKERS: '127.0.0.1:9092',
  CRDB_URL: `postgresql://root:${SECRET}@127.0.0.1:26257/shop`,
  WAREHOUSE_PG_URL: `postgres://sluice:${SECRET}@127.0.0.1/warehouse`,
  CRDB_WEBHOOK_AUTH: `Bearer ${SECRET}`,
  CRDB_WEBHOOK_CERT: '/nonexistent/cert.pem',
  CRDB_WEBHOOK_KEY: '/nonexistent/key.pem',
  SINK_PASSWORD: SECRET,
};

/** Parses `text`; the outcome must be a spec or a ConfigError whose every problem has a line and column inside `text`. */
async function specOrConfigError(text: string): Promise<void> {
  try {
    await parsePipeline(text, FILE, registry, { env });
  } catch (error) {
    assert.ok(
      error instanceof ConfigError,
      `expected a ConfigError, got ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error)}`,
    );
    assert.ok(error.problems.length > 0);
    const lines = text.split(/\r\n|\r|\n/).length;
    for (const problem of error.problems) {
      assert.equal(problem.file, FILE);
      assert.ok(
        Number.isInteger(problem.line) && problem.line >= 1 && problem.line <= lines + 1,
        `line ${problem.line} of ${lines}`,
      );
      assert.ok(Number.isInteger(problem.column) && problem.column >= 1, `column ${problem.column}`);
      assert.ok(problem.message.length > 0);
    }
    assert.match(error.message, /^fuzz\/pipeline\.yaml:\d+:\d+: /);
  }
}

/** A config-like tree: pipeline section names and option names mixed with arbitrary keys and values. */
const configTree = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(
      null,
      true,
      0,
      -1,
      1e308,
      '',
      '${UNSET_VAR}',
      '${WAREHOUSE_PG_URL}',
      '${CRDB_WEBHOOK_AUTH}',
      '10ms',
      '4MiB',
      'postgres',
      'kafka',
      'generate',
      'file',
    ),
    fc.string({ maxLength: 10 }),
    fc.integer(),
    fc.array(tie('node'), { maxLength: 3 }),
    fc.dictionary(
      fc.oneof(
        fc.constantFrom(
          'name',
          'sources',
          'operators',
          'sinks',
          'dlq',
          'runtime',
          'type',
          'from',
          'batch',
          'url',
          'table',
          'key',
          'rules',
          '__proto__',
          'constructor',
        ),
        fc.string({ maxLength: 6 }),
      ),
      tie('node'),
      { maxKeys: 5 },
    ),
  ),
})).node;

describe('fuzz: pipeline config files (runtime/config)', () => {
  test('random text is a ConfigError with file, line and column, never a crash', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.constantFrom('', '---', '- a', '{', 'a: [', '&a [*a]', '!!js/function x', 'a: !!binary zz'),
        ),
        specOrConfigError,
      ),
      { numRuns: 500 },
    );
  });

  test('random YAML documents shaped like a pipeline are a spec or a ConfigError with positions', async () => {
    await fc.assert(
      fc.asyncProperty(configTree, (tree) => specOrConfigError(stringify(tree) ?? '')),
      { numRuns: 500 },
    );
  });

  test('the examples, cut and spliced at random, are a spec or a ConfigError with positions', async () => {
    const mutated = fc
      .tuple(
        fc.constantFrom(...examples),
        fc.nat(),
        fc.nat({ max: 40 }),
        fc.oneof(
          fc.string({ maxLength: 6 }),
          fc.constantFrom(':', '-', '  ', '\t', '"', "'", '{', '[', '\n', '#', '&x', '*x'),
        ),
      )
      .map(([text, at, cut, insert]) => {
        const start = at % (text.length + 1);
        return text.slice(0, start) + insert + text.slice(start + cut);
      });
    await fc.assert(fc.asyncProperty(mutated, specOrConfigError), { numRuns: 500 });
  });

  // Secrets are known by name: a variable named like PASSWORD/SECRET/TOKEN/KEY, a field named like password or
  // authorization, or the password of a URL (runtime/config/secret-names.ts).
  test('a secret in the environment never appears in a config error', async () => {
    let errors = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...examples),
        fc.nat(),
        fc.nat({ max: 12 }),
        fc.oneof(
          fc.string({ maxLength: 4 }),
          fc.constantFrom('${WAREHOUSE_PG_URL}', ' ${SINK_PASSWORD}', 'x'),
          fc.constant('\n'),
        ),
        async (text, at, cut, insert) => {
          const start = at % (text.length + 1);
          try {
            await parsePipeline(
              `${text.slice(0, start)}${insert}${text.slice(start + cut)}`,
              FILE,
              registry,
              { env },
            );
          } catch (error) {
            assert.ok(error instanceof ConfigError);
            assert.doesNotMatch(error.message, new RegExp(SECRET));
            errors++;
          }
        },
      ),
      { numRuns: 300 },
    );
    assert.ok(errors > 0, 'some configs must have been refused');
  });
});
