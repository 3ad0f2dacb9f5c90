import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parsePipeline } from '../../runtime/config/index.js';
import { OBSERVABILITY_DEFAULTS } from '../../runtime/telemetry/observability-settings.js';
import { testRegistry } from '../runtime/config/test-registry.js';

const yaml = (...lines: string[]): string =>
  [
    'name: observed',
    'sources:',
    '  orders: { type: file, path: ./in.jsonl }',
    'sinks:',
    '  out: { type: file, from: orders, path: ./out.jsonl }',
    ...lines,
    '',
  ].join('\n');

describe('the observability: section', () => {
  test('is read with its units and defaults; without it the spec has none', async () => {
    const spec = await parsePipeline(
      yaml(
        'observability:',
        '  service_name: orders-svc',
        "  traces: { endpoint: 'http://collector:4318/v1/traces', sample_ratio: 0.25, headers: { x-key: k1 } }",
        '  metrics: { interval: 30s }',
        '  health: { port: 0, stall_after: 90s }',
        '  progress: lines',
        '  progress_interval: 2s',
        "  notify: { url: 'https://hooks.example.com/x', on: [failure] }",
      ),
      'p.yaml',
      testRegistry,
      { env: {} },
    );
    assert.deepEqual(spec.observability, {
      serviceName: 'orders-svc',
      traces: { endpoint: 'http://collector:4318/v1/traces', headers: { 'x-key': 'k1' }, sampleRatio: 0.25 },
      metrics: { endpoint: undefined, headers: {}, intervalMs: 30_000 },
      health: { host: OBSERVABILITY_DEFAULTS.healthHost, port: 0, stallAfterMs: 90_000 },
      progress: 'lines',
      progressIntervalMs: 2_000,
      notify: { url: 'https://hooks.example.com/x', headers: {}, on: ['failure'] },
    });
    const plain = await parsePipeline(yaml(), 'p.yaml', testRegistry, { env: {} });
    assert.equal(plain.observability, undefined);
  });

  test('rejects values out of range and unknown keys, naming where', async () => {
    await assert.rejects(
      parsePipeline(
        yaml(
          'observability:',
          '  traces: { sample_ratio: 2 }',
          '  health: { prot: 9464 }',
          '  progress: sometimes',
        ),
        'p.yaml',
        testRegistry,
        { env: {} },
      ),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        const text = error.format();
        assert.match(text, /p\.yaml:7:\d+: .*sample_ratio/);
        assert.match(text, /p\.yaml:8:\d+: .*prot/);
        assert.match(text, /p\.yaml:9:\d+: .*progress/);
        return true;
      },
    );
  });
});
