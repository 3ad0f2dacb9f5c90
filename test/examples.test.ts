import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { defaultRegistry } from '../cli/registry.js';
import { loadPipeline } from '../runtime/config/index.js';

const EXAMPLES = join(import.meta.dirname, '..', 'examples');
const ENV = {
  QUICKSTART_PG_URL: 'postgres://user:pass@127.0.0.1:5432/db',
  WAREHOUSE_PG_URL: 'postgres://user:pass@127.0.0.1:5432/warehouse',
  KAFKA_BROKERS: '127.0.0.1:9092',
  CRDB_URL: 'postgresql://root@127.0.0.1:26257/shop',
  CRDB_WEBHOOK_CERT: 'server.crt',
  CRDB_WEBHOOK_KEY: 'server.key',
  CRDB_WEBHOOK_AUTH: 'Bearer example-token',
  SCHEMA_REGISTRY_URL: 'http://127.0.0.1:8081',
};

async function jsonLines(path: string): Promise<Record<string, unknown>[]> {
  const text = (await readFile(path, 'utf8')).trim();
  return text === '' ? [] : text.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('examples', () => {
  test('every example config is valid', async () => {
    const files = (await readdir(EXAMPLES)).filter((name) => name.endsWith('.yaml'));
    assert.ok(files.length >= 2);
    for (const file of files) {
      const spec = await loadPipeline(join(EXAMPLES, file), defaultRegistry(), { env: { ...process.env, ...ENV } });
      assert.ok(spec.sinks.length > 0, file);
    }
  });

  test('data-quality.yaml runs every operator: records are routed, tagged, and rejects carry their rule', async () => {
    const root = await mkdtemp(join(tmpdir(), 'sluice-examples-'));
    await cp(EXAMPLES, join(root, 'examples'), { recursive: true });
    const ran = spawnSync(
      process.execPath,
      ['--import', import.meta.resolve('tsx'), join(import.meta.dirname, '..', 'cli', 'main.ts'), 'run', join(root, 'examples', 'data-quality.yaml')],
      { encoding: 'utf8', env: { ...process.env, SLUICE_LOG_LEVEL: 'warn' } },
    );
    assert.equal(ran.status, 0, ran.stderr);
    const out = join(root, '.sluice', 'data-quality');
    const euro = await jsonLines(join(out, 'euro.jsonl'));
    const other = await jsonLines(join(out, 'other.jsonl'));
    const dead = await jsonLines(join(out, 'dlq.jsonl'));
    assert.ok(euro.length > 0 && other.length > 0);
    for (const row of euro) {
      assert.equal(row.currency, 'EUR');
      assert.equal(row.tier, 'gold');
      assert.equal(typeof row.id, 'string');
      assert.match(row.email as string, /^[0-9a-f]{64}$/);
      assert.equal(row.note, undefined);
    }
    assert.ok(other.every((row) => row.currency !== 'EUR' && row.tier === undefined));
    const ids = [...euro, ...other].map((row) => row.id);
    assert.equal(new Set(ids).size, ids.length, 'dedup keeps one record per id');
    assert.ok(dead.length > 0);
    const rules = new Set(['id_is_text', 'domain_shape', 'has_domain', 'amount_range', 'paid_has_amount', 'large_orders']);
    for (const letter of dead) assert.ok(rules.has(letter.rule as string), String(letter.rule));
    assert.match(ran.stdout, new RegExp(`dead-lettered ${dead.length.toLocaleString('en-US')}`));
  });
});
