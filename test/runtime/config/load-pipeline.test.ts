import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadPipeline, parsePipeline } from '../../../runtime/config/index.js';
import type { Environment } from '../../../runtime/config/index.js';
import { DEFAULTS } from '../../../runtime/limits.js';
import { testRegistry } from './test-registry.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/config');

/** A YAML document from lines, so each test shows line numbers plainly. */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;

/** The `FILE:LINE:COL: message` lines the loader reports for a document it must reject. */
async function problems(text: string, env: Environment = {}): Promise<string[]> {
  try {
    await parsePipeline(text, 'p.yaml', testRegistry, { env });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    assert.equal(error.code, 'CONFIG_INVALID');
    assert.equal(error.message, error.format());
    return error.format().split('\n');
  }
  assert.fail('expected the config to be rejected');
}

const SOURCE = ['sources:', '  orders: { type: file, path: ./in.jsonl }'];
const SINK = ['sinks:', '  out: { type: file, from: orders, path: ./out.jsonl }'];

describe('loadPipeline', () => {
  test('a valid file gives the expected spec, with defaults filled and units converted', async () => {
    const file = join(FIXTURES, 'quickstart.yaml');
    const spec = await loadPipeline(file, testRegistry, { env: {} });
    assert.deepEqual(spec, {
      name: 'orders-to-warehouse',
      configFile: file,
      configDir: FIXTURES,
      sources: [
        {
          name: 'orders',
          type: 'file',
          options: { path: './data/orders.jsonl', format: 'jsonl', poll: false },
          origin: { file, path: ['sources', 'orders'] },
        },
      ],
      operators: [
        {
          name: 'paid',
          type: 'filter',
          from: [{ node: 'orders' }],
          options: { where: 'after.status == "paid"' },
          origin: { file, path: ['operators', 'paid'] },
        },
      ],
      sinks: [
        {
          name: 'out',
          type: 'file',
          from: [{ node: 'paid' }],
          batch: {
            maxRecords: 500,
            maxJoinedRecords: 2000,
            maxBytes: 1024 * 1024,
            maxWaitMs: 1000,
            maxInFlight: 4,
          },
          options: { path: './out/orders.jsonl', mode: 'append' },
          origin: { file, path: ['sinks', 'out'] },
        },
      ],
      dlq: {
        name: 'dlq',
        type: 'file',
        from: [],
        batch: {
          maxRecords: 10,
          maxJoinedRecords: 10 * DEFAULTS.sinkJoinedBatches,
          maxBytes: DEFAULTS.sinkMaxBytes,
          maxWaitMs: DEFAULTS.sinkMaxWaitMs,
          maxInFlight: DEFAULTS.sinkMaxInFlight,
        },
        options: { path: './out/dlq.jsonl', mode: 'append' },
        origin: { file, path: ['dlq'] },
      },
      runtime: {
        inFlightRecords: 5000,
        inFlightBytes: 16 * 1024 * 1024,
        shutdownTimeoutMs: 120_000,
        stateDir: join(FIXTURES, 'state'),
        restart: { maxAttempts: 3, initialDelayMs: 500, maxDelayMs: 90_000 },
        sinkWriteRetries: 4,
        workers: 'inline',
        workerTaskTimeoutMs: 150_000,
      },
      secrets: [],
    });
  });

  test('every runtime and batch field defaults from DEFAULTS; state_dir resolves against the file', async () => {
    const spec = await parsePipeline(yaml('name: p', ...SOURCE, ...SINK), 'conf/p.yaml', testRegistry, {
      env: {},
    });
    assert.equal(spec.configFile, resolve('conf/p.yaml'));
    assert.equal(spec.configDir, resolve('conf'));
    assert.deepEqual(spec.runtime, {
      inFlightRecords: DEFAULTS.inFlightRecords,
      inFlightBytes: DEFAULTS.inFlightBytes,
      shutdownTimeoutMs: DEFAULTS.shutdownTimeoutMs,
      stateDir: resolve('conf', DEFAULTS.stateDir),
      restart: {
        maxAttempts: DEFAULTS.restartMaxAttempts,
        initialDelayMs: DEFAULTS.restartInitialDelayMs,
        maxDelayMs: DEFAULTS.restartMaxDelayMs,
      },
      sinkWriteRetries: DEFAULTS.sinkWriteRetries,
      workers: DEFAULTS.workers,
      workerTaskTimeoutMs: DEFAULTS.workerTaskTimeoutMs,
    });
    assert.deepEqual(spec.sinks[0]!.batch, {
      maxRecords: DEFAULTS.sinkMaxRecords,
      maxJoinedRecords: DEFAULTS.sinkJoinedBatches * DEFAULTS.sinkMaxRecords,
      maxBytes: DEFAULTS.sinkMaxBytes,
      maxWaitMs: DEFAULTS.sinkMaxWaitMs,
      maxInFlight: DEFAULTS.sinkMaxInFlight,
    });
    assert.equal(spec.dlq, null);
    assert.deepEqual(spec.operators, []);
  });

  test('fan-in lists and router branches become edges', async () => {
    const spec = await parsePipeline(
      yaml(
        'name: p',
        'sources:',
        '  a: { type: file, path: a }',
        '  b: { type: file, path: b }',
        'operators:',
        '  split: { type: router, from: [a, b], routes: { big: x } }',
        'sinks:',
        '  out: { type: file, from: [split.big, split], path: o }',
      ),
      'p.yaml',
      testRegistry,
      { env: {} },
    );
    assert.deepEqual(spec.operators[0]!.from, [{ node: 'a' }, { node: 'b' }]);
    assert.deepEqual(spec.sinks[0]!.from, [{ node: 'split', branch: 'big' }, { node: 'split' }]);
  });

  test('a file that cannot be read is CONFIG_UNREADABLE', async () => {
    await assert.rejects(loadPipeline(join(FIXTURES, 'missing.yaml'), testRegistry), {
      code: 'CONFIG_UNREADABLE',
    });
  });

  test('reads the file it is given and reports problems under that name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-config-'));
    try {
      const file = join(dir, 'broken.yaml');
      await writeFile(file, yaml('name: p', ...SOURCE, ...SINK, 'extra: 1'));
      await assert.rejects(loadPipeline(file, testRegistry, { env: {} }), (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems, [
          {
            file,
            line: 6,
            column: 1,
            message:
              'extra: unknown key `extra`; expected one of `name`, `sources`, `operators`, `sinks`, `dlq`, `checkpoints`, `runtime`, `observability`',
          },
        ]);
        return true;
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('config problems point at FILE:LINE:COL', () => {
  test('YAML syntax errors carry the parser position', async () => {
    const found = await problems(yaml('name: p', 'sources:', '  orders: { type: file, path: x', ...SINK));
    assert.ok(found.length >= 1);
    assert.match(found[0]!, /^p\.yaml:4:1: /);
  });

  test('duplicate keys point at the second key and name the first line', async () => {
    assert.deepEqual(await problems(yaml('name: p', ...SOURCE, ...SINK, 'name: q')), [
      'p.yaml:6:1: duplicate key `name` (first defined on line 1)',
    ]);
  });

  test('unknown keys point at the key, with a suggestion when one is close', async () => {
    assert.deepEqual(
      await problems(
        yaml(
          'name: p',
          'sources:',
          '  orders: { type: file, path: x, formt: csv }',
          'sinks:',
          '  out:',
          '    type: file',
          '    from: orders',
          '    path: y',
          '    batch: { max_record: 5 }',
          'runtime:',
          '  shutdown_timout: 5s',
        ),
      ),
      [
        'p.yaml:3:34: sources.orders.formt: unknown key `formt` (did you mean `format`?)',
        'p.yaml:9:14: sinks.out.batch.max_record: unknown key `max_record` (did you mean `max_records`?)',
        'p.yaml:11:3: runtime.shutdown_timout: unknown key `shutdown_timout` (did you mean `shutdown_timeout`?)',
      ],
    );
  });

  test('a joined write smaller than a micro-batch is refused at its value', async () => {
    assert.deepEqual(
      await problems(
        yaml(
          'name: p',
          ...SOURCE,
          'sinks:',
          '  out: { type: file, from: orders, path: y, batch: { max_records: 500, max_joined_records: 100 } }',
        ),
      ),
      [
        'p.yaml:5:92: sinks.out.batch.max_joined_records: expected at least `max_records` (500): a write holds at least one whole micro-batch, got 100',
      ],
    );
  });

  test('wrong types, enum values, patterns, ranges and units say what was expected and what came', async () => {
    assert.deepEqual(
      await problems(
        yaml(
          'name: my pipeline',
          'sources:',
          '  orders: { type: file, path: x, format: xml, poll: yes }',
          '  pg: { type: postgres, url: u, port: 70000, tables: [] }',
          'sinks:',
          '  out: { type: kafka, from: [orders, pg], brokers: b, topic: 5, sasl: { mechanism: plan, username: u, password: p } }',
          'runtime:',
          '  in_flight: { records: 0, bytes: 12 parsecs }',
          '  shutdown_timeout: soon',
        ),
      ),
      [
        'p.yaml:1:7: name: expected text matching `^[A-Za-z0-9_-]+$`, got `my pipeline`',
        'p.yaml:3:42: sources.orders.format: expected `jsonl` or `csv`, got `xml`',
        'p.yaml:3:53: sources.orders.poll: expected `true` or `false`, got `yes`',
        'p.yaml:4:39: sources.pg.port: expected a number <= 65535, got 70000',
        'p.yaml:4:54: sources.pg.tables: expected at least 1 item, got 0',
        'p.yaml:6:52: sinks.out.brokers: expected a list, got `b`',
        'p.yaml:6:62: sinks.out.topic: expected text, got 5',
        'p.yaml:6:84: sinks.out.sasl.mechanism: expected `plain` or `scram-sha-256`, got `plan` (did you mean `plain`?)',
        'p.yaml:8:25: runtime.in_flight.records: expected a number >= 1, got 0',
        'p.yaml:8:35: runtime.in_flight.bytes: expected a size (bytes as a number, or text like `512KiB`, `8MiB`, `1GiB`, `10MB`), got `12 parsecs`',
        'p.yaml:9:21: runtime.shutdown_timeout: expected a duration (milliseconds as a number, or text like `200ms`, `5s`, `2m`, `1h`), got `soon`',
      ],
    );
  });

  test('missing required fields point at the object missing them', async () => {
    assert.deepEqual(
      await problems(
        yaml(
          'name: p',
          'sources:',
          '  orders: { path: x }',
          '  more: { type: file }',
          'operators:',
          '  keep:',
          '    type: filter',
          '    where: after.x',
          'sinks:',
          '  out: { type: file, from: keep, path: y }',
        ),
      ),
      [
        'p.yaml:3:3: sources.orders: missing required field `type` (one of the source types: file, postgres)',
        'p.yaml:4:3: sources.more: missing required field `path`',
        'p.yaml:6:3: operators.keep: missing required field `from` (the node or nodes this operator reads from)',
      ],
    );
    assert.deepEqual(await problems(yaml('name: p', ...SOURCE)), [
      'p.yaml:1:1: missing required field `sinks`',
      'p.yaml:3:3: sources.orders: source `orders` feeds nothing: no operator or sink names it in `from`',
    ]);
  });

  test('unknown types suggest a close one and list the known types', async () => {
    assert.deepEqual(
      await problems(
        yaml(
          'name: p',
          ...SOURCE,
          'operators:',
          '  keep: { type: fliter, from: orders, where: after.x }',
          '  other: { type: map, from: orders }',
          'sinks:',
          '  out: { type: file, from: [keep, other], path: y }',
        ),
      ),
      [
        'p.yaml:5:17: operators.keep.type: unknown operator type `fliter` (did you mean `filter`?); known operator types: filter, router',
        'p.yaml:6:18: operators.other.type: unknown operator type `map`; known operator types: filter, router',
      ],
    );
  });

  test('`from` must name a node that produces records; sources take no `from`', async () => {
    assert.deepEqual(
      await problems(
        yaml(
          'name: p',
          'sources:',
          '  orders: { type: file, path: x, from: out }',
          'operators:',
          '  keep: { type: filter, from: ordrs, where: after.x }',
          'sinks:',
          '  out: { type: file, from: [keep, out, orders.high, nowhere], path: y }',
        ),
      ),
      [
        'p.yaml:3:34: sources.orders.from: a source reads from no other node: remove `from`',
        'p.yaml:5:31: operators.keep.from: unknown node `ordrs` in `from` (did you mean `orders`?)',
        'p.yaml:7:35: sinks.out.from.1: `out` is a sink: sinks produce no records to read',
        'p.yaml:7:40: sinks.out.from.2: `orders` is a source and has no branches: write `from: orders`',
        'p.yaml:7:53: sinks.out.from.3: unknown node `nowhere` in `from`; nodes that produce records: orders, keep',
      ],
    );
  });

  test('cycles are named, unreachable sinks and dead-end operators reported', async () => {
    assert.deepEqual(
      await problems(
        yaml(
          'name: p',
          ...SOURCE,
          'operators:',
          '  a: { type: filter, from: c, where: after.x }',
          '  b: { type: filter, from: a, where: after.x }',
          '  c: { type: filter, from: b, where: after.x }',
          '  unused: { type: filter, from: orders, where: after.x }',
          'sinks:',
          '  out: { type: file, from: orders, path: y }',
          '  looped: { type: file, from: c, path: z }',
        ),
      ),
      [
        'p.yaml:5:28: operators.a.from: cycle: a → b → c → a',
        'p.yaml:8:3: operators.unused: operator `unused` feeds nothing: no operator or sink names it in `from`',
        'p.yaml:11:3: sinks.looped: sink `looped` is reachable from no source',
      ],
    );
  });

  test('node names must be unique across sections and free of dots', async () => {
    assert.deepEqual(
      await problems(
        yaml(
          'name: p',
          'sources:',
          '  orders: { type: file, path: x }',
          '  a.b: { type: file, path: x }',
          'sinks:',
          '  orders: { type: file, from: orders, path: y }',
        ),
      ),
      [
        'p.yaml:4:3: sources.a.b: expected a node name of letters, digits, `_` and `-` (not starting with a digit or `-`; no dots), got `a.b`',
        'p.yaml:6:3: sinks.orders: node name `orders` is already used by the source on line 3',
      ],
    );
  });

  test('check() issues point at the offending character in plain, quoted and block scalars', async () => {
    assert.deepEqual(
      await problems(
        yaml(
          'name: p',
          ...SOURCE,
          'operators:',
          '  plain: { type: filter, from: orders, where: after.x and aftr.y }',
          `  single: { type: filter, from: plain, where: 'it''s after.a or x.b' }`,
          '  double: { type: filter, from: single, where: "\\t\\"q\\" bfr.c" }',
          '  block:',
          '    type: filter',
          '    from: double',
          '    where: |',
          '      after.a',
          '        and nope.b',
          'sinks:',
          '  out: { type: file, from: block, path: y }',
        ),
      ),
      [
        'p.yaml:5:59: operators.plain.where: unknown record part `aftr`',
        'p.yaml:6:65: operators.single.where: unknown record part `x`',
        'p.yaml:7:57: operators.double.where: unknown record part `bfr`',
        'p.yaml:13:13: operators.block.where: unknown record part `nope`',
      ],
    );
  });

  test('every problem is reported at once, sorted by position', async () => {
    const found = await problems(
      yaml(
        'name: p',
        'sources:',
        '  orders: { type: file, path: x, extra: 1 }',
        'sinks:',
        '  out: { type: file, from: nowhere, path: 5 }',
        'runtime: { sink_write_retries: -1 }',
      ),
    );
    assert.deepEqual(
      found.map((line) => line.split(': ')[0]),
      ['p.yaml:3:34', 'p.yaml:3:3', 'p.yaml:5:28', 'p.yaml:5:43', 'p.yaml:6:32'].sort(byPosition),
    );
  });
});

function byPosition(a: string, b: string): number {
  const [, la, ca] = a.split(':').map(Number);
  const [, lb, cb] = b.split(':').map(Number);
  return la! - lb! || ca! - cb!;
}
