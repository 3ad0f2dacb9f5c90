import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parsePipeline } from '../../../runtime/config/index.js';
import type { Environment } from '../../../runtime/config/index.js';
import { testRegistry } from './test-registry.js';

const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;
const SINK = ['sinks:', '  out: { type: file, from: pg, path: ./out.jsonl }'];

const load = (text: string, env: Environment) => parsePipeline(text, 'p.yaml', testRegistry, { env });

async function formatted(text: string, env: Environment): Promise<string> {
  try {
    await load(text, env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.format();
  }
  assert.fail('expected the config to be rejected');
}

describe('environment variables in the config', () => {
  test('${VAR}, ${VAR:-default} and $${ work inside strings', async () => {
    const spec = await load(
      yaml(
        'name: ${NAME:-fallback}',
        'sources:',
        '  pg:',
        '    type: postgres',
        '    url: postgres://${PG_USER}@${PG_HOST:-localhost}/db?note=$${literal}',
        ...SINK,
      ),
      { PG_USER: 'app', NAME: '' },
    );
    assert.equal(spec.name, 'fallback');
    assert.equal(spec.sources[0]!.options.url, 'postgres://app@localhost/db?note=${literal}');
  });

  test('a whole plain scalar is read as YAML; the schema picks text or number for whole `${VAR}`s', async () => {
    const spec = await load(
      yaml(
        'name: p',
        'sources:',
        '  pg:',
        '    type: postgres',
        '    url: ${PG_URL}',
        '    port: ${PG_PORT}',
        '    password: ${PG_PASSWORD}',
        '  other: { type: postgres, url: u, port: "${PG_PORT}" }',
        'sinks:',
        '  out: { type: file, from: [pg, other], path: ./out.jsonl }',
        'runtime:',
        '  sink_write_retries: ${RETRIES:-3}',
      ),
      { PG_URL: 'postgres://h/db', PG_PORT: '5433', PG_PASSWORD: '123456' },
    );
    assert.equal(spec.sources[0]!.options.port, 5433);
    assert.equal(spec.sources[0]!.options.password, '123456');
    assert.equal(spec.sources[1]!.options.port, 5433);
    assert.equal(spec.runtime.sinkWriteRetries, 3);
  });

  test('a missing variable is an error at its place, and nothing more is said of that value', async () => {
    assert.equal(
      await formatted(
        yaml(
          'name: p',
          'sources:',
          '  pg: { type: postgres, url: "postgres://${PG_HOST}/db", port: 5432 }',
          ...SINK,
          'runtime:',
          '  shutdown_timeout: ${TIMEOUT}',
          '  state_dir: ${STATE',
        ),
        {},
      ),
      [
        'p.yaml:3:42: environment variable PG_HOST is not set (write `${PG_HOST:-default}` for a default)',
        'p.yaml:7:21: environment variable TIMEOUT is not set (write `${TIMEOUT:-default}` for a default)',
        'p.yaml:8:14: expected `}` to close `${`',
      ].join('\n'),
    );
  });
});

describe('secrets', () => {
  test('secret fields, secret variables and URL passwords are collected', async () => {
    const spec = await load(
      yaml(
        'name: p',
        'sources:',
        '  pg: { type: postgres, url: "postgres://app:${DB_PASS}@h/db", password: literal-pw }',
        'sinks:',
        '  out:',
        '    type: kafka',
        '    from: pg',
        '    brokers: [b:9092]',
        '    topic: ${TOPIC}',
        '    sasl: { mechanism: plain, username: "${SASL_USER}", password: "${API_TOKEN}" }',
      ),
      { DB_PASS: 'db-secret-1', TOPIC: 'orders', SASL_USER: 'svc', API_TOKEN: 'tok-secret-2' },
    );
    assert.deepEqual([...spec.secrets].sort(), ['db-secret-1', 'literal-pw', 'tok-secret-2']);
  });

  test('no secret appears in format() output, even in messages about the secret values', async () => {
    const env = { PG_PASSWORD: 'hunter2-very-secret', KAFKA_TOKEN: 'ab' };
    const text = await formatted(
      yaml(
        'name: p',
        'sources:',
        '  pg: { type: postgres, url: "postgres://app:${PG_PASSWORD}@h/db", port: "${PG_PASSWORD}", password: 42 }',
        'sinks:',
        '  out: { type: kafka, from: pg, brokers: b, topic: "${KAFKA_TOKEN}", sasl: { mechanism: x, username: u, password: [1] } }',
      ),
      env,
    );
    assert.doesNotMatch(text, /hunter2|very-secret/);
    assert.doesNotMatch(text, /`ab`/);
    assert.match(text, /sources\.pg\.port: expected an integer, got `\*\*\*`/);
    assert.match(text, /sources\.pg\.password: expected text, got \*\*\*/);
  });
});
