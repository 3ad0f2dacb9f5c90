import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sluice } from '../support/sluice-cli.js';

async function workspace(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cli-'));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

const ORDERS = [
  '{"id": 12345678901234567890, "status": "paid", "amount": 26.30, "email": "a@example.com"}',
  '{"id": 2, "status": "new", "amount": 5.00, "email": "b@example.com"}',
  '{"id": 3, "status": "paid", "amount": 7.10, "email": "not-an-email"}',
  'this line is not JSON',
  '{"id": 4, "status": "paid", "amount": 1.5, "email": "d@example.com"}',
].join('\n');

const PIPELINE = `name: cli-orders
sources:
  orders: { type: file, path: orders.jsonl, key: [id] }
operators:
  paid: { from: orders, type: filter, where: 'after.status == "paid"' }
  checks:
    from: paid
    type: validate
    rules:
      - { name: email_shape, field: email, regex: '^[^@]+@[^@]+$', action: dlq }
sinks:
  out: { from: checks, type: file, path: out/orders.jsonl }
dlq: { type: file, path: out/dlq.jsonl }
runtime: { state_dir: ./state }
`;

describe('sluice CLI', () => {
  test('--version prints the package version', async () => {
    const ran = await sluice(['--version']);
    assert.equal(ran.code, 0);
    const { version } = JSON.parse(await readFile(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
    assert.equal(ran.stdout.trim(), version);
  });

  test('validate exits 0 for a valid file', async () => {
    const dir = await workspace({ 'pipeline.yaml': PIPELINE, 'orders.jsonl': ORDERS });
    const ran = await sluice(['validate', join(dir, 'pipeline.yaml')]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /valid/);
  });

  test('validate exits 2 and prints every problem as FILE:LINE:COL: message', async () => {
    const broken = PIPELINE.replace('type: filter', 'type: filtr').replace('from: checks', 'from: chekcs');
    const dir = await workspace({ 'pipeline.yaml': broken });
    const file = join(dir, 'pipeline.yaml');
    const ran = await sluice(['validate', file]);
    assert.equal(ran.code, 2);
    const lines = ran.stderr.trim().split('\n');
    assert.equal(lines.length, 2, ran.stderr);
    assert.match(lines[0]!, new RegExp(`^${file}:5:\\d+: .*filtr.*did you mean .*filter`));
    assert.match(lines[1]!, new RegExp(`^${file}:12:\\d+: .*chekcs.*did you mean .*checks`));
  });

  test('run delivers what passes, dead-letters what fails with a reason, and keeps big numbers exact', async () => {
    const dir = await workspace({ 'pipeline.yaml': PIPELINE, 'orders.jsonl': ORDERS });
    const ran = await sluice(['run', join(dir, 'pipeline.yaml')]);
    assert.equal(ran.code, 0, ran.stderr);
    const out = (await readFile(join(dir, 'out', 'orders.jsonl'), 'utf8')).trim().split('\n');
    assert.deepEqual(out, [
      '{"id":12345678901234567890,"status":"paid","amount":26.30,"email":"a@example.com"}',
      '{"id":4,"status":"paid","amount":1.5,"email":"d@example.com"}',
    ]);
    const dead = (await readFile(join(dir, 'out', 'dlq.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(
      dead.map((letter) => [letter.rule, letter.source_position]).sort(),
      [
        [null, 'orders.jsonl:4'],
        ['email_shape', 'orders.jsonl:3'],
      ].sort(),
    );
    assert.match(ran.stdout, /paid\s+operator\s+4\s+3\s+1\s+0/);
    assert.match(ran.stdout, /read 4 records, wrote 2, dead-lettered 2/);
    // A second run resumes after the checkpoint: nothing is read or written again.
    const again = await sluice(['run', join(dir, 'pipeline.yaml')]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /read 0 records, wrote 0/);
  });

  test('run --dry-run shows what each sink would receive and writes nothing', async () => {
    const dir = await workspace({ 'pipeline.yaml': PIPELINE, 'orders.jsonl': ORDERS });
    const ran = await sluice(['run', '--dry-run', join(dir, 'pipeline.yaml')]);
    assert.equal(ran.code, 0, ran.stderr);
    assert.match(ran.stdout, /out: 2 records/);
    assert.match(ran.stdout, /"id":12345678901234567890/);
    assert.match(ran.stdout, /dlq: 2 records/);
    assert.deepEqual((await readdir(dir)).sort(), ['orders.jsonl', 'pipeline.yaml']);
  });

  test('a rule with action fail stops the run with exit 1, naming the rule and the position; what came before is written', async () => {
    const failing = PIPELINE.replace('action: dlq', 'action: fail');
    const dir = await workspace({ 'pipeline.yaml': failing, 'orders.jsonl': ORDERS });
    const ran = await sluice(['run', join(dir, 'pipeline.yaml')]);
    assert.equal(ran.code, 1);
    assert.match(ran.stderr, /email_shape/);
    assert.match(ran.stderr, /orders\.jsonl:3/);
    const out = (await readFile(join(dir, 'out', 'orders.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(out.length, 1);
    assert.match(out[0]!, /12345678901234567890/);
  });

  test('replay sends dead letters back through the fixed pipeline', async () => {
    const dir = await workspace({ 'pipeline.yaml': PIPELINE, 'orders.jsonl': ORDERS });
    const first = await sluice(['run', join(dir, 'pipeline.yaml')]);
    assert.equal(first.code, 0, first.stderr);
    const own = await sluice(['replay', join(dir, 'out', 'dlq.jsonl'), join(dir, 'pipeline.yaml')]);
    assert.equal(own.code, 1);
    assert.match(own.stderr, /move it aside first/);
    await rename(join(dir, 'out', 'dlq.jsonl'), join(dir, 'dlq.replay.jsonl'));
    // The fix: accept addresses without a domain too.
    await writeFile(join(dir, 'pipeline.yaml'), PIPELINE.replace("regex: '^[^@]+@[^@]+$'", () => "regex: '^.+$'"));
    const replay = await sluice(['replay', join(dir, 'dlq.replay.jsonl'), join(dir, 'pipeline.yaml')]);
    assert.equal(replay.code, 0, replay.stderr);
    const out = (await readFile(join(dir, 'out', 'orders.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(out.length, 3);
    assert.match(out[2]!, /"id":3,.*"amount":7.10,.*"email":"not-an-email"/);
    // The undecodable line has no record to replay: it is dead-lettered again, with its reason.
    const dead = (await readFile(join(dir, 'out', 'dlq.jsonl'), 'utf8')).trim().split('\n');
    assert.equal(dead.length, 1);
  });

  test('SIGTERM drains in-flight records, commits, and exits 0', async () => {
    const pipeline = `name: endless
sources:
  orders: { type: generate, rate: 2000, seed: 3 }
sinks:
  out: { from: orders, type: file, path: out.jsonl }
runtime: { state_dir: ./state }
`;
    const dir = await workspace({ 'pipeline.yaml': pipeline });
    const ran = await sluice(['run', join(dir, 'pipeline.yaml')], {
      // Signal once records are landing, so the pipeline is surely running (tsx start-up time varies).
      whileRunning: (child) => {
        const poll = setInterval(() => {
          void stat(join(dir, 'out.jsonl')).then(
            (info) => {
              if (info.size < 20_000) return;
              clearInterval(poll);
              child.kill('SIGTERM');
            },
            () => undefined,
          );
        }, 100);
      },
    });
    assert.equal(ran.code, 0, ran.stderr);
    const written = (await readFile(join(dir, 'out.jsonl'), 'utf8')).trim().split('\n').length;
    assert.ok(written > 100, `only ${written} records written`);
    assert.match(ran.stdout, new RegExp(`read ${written.toLocaleString('en-US')} records, wrote ${written.toLocaleString('en-US')}`));
    const state = await readdir(join(dir, 'state'), { recursive: true });
    assert.ok(state.some((name) => name.endsWith('.json')), `no checkpoint in ${state.join(', ')}`);
  });

  test('schema prints a JSON Schema naming every component type', async () => {
    const ran = await sluice(['schema']);
    assert.equal(ran.code, 0, ran.stderr);
    const text = ran.stdout;
    const schema = JSON.parse(text) as Record<string, unknown>;
    assert.ok(typeof schema.$schema === 'string');
    for (const type of ['file', 'generate', 'postgres', 'filter', 'validate', 'route']) assert.ok(text.includes(`"${type}"`), type);
  });
});

describe('sluice quickstart', () => {
  test('runs the demo into an embedded Postgres and says what landed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-quickstart-'));
    const ran = await sluice(['quickstart', '--records', '5000'], { cwd: dir });
    assert.equal(ran.code, 0, ran.stderr);
    const written = /warehouse\s+sink\s+\d+\s+([\d,]+)/.exec(ran.stdout);
    assert.ok(written, ran.stdout);
    const landed = /public\.orders holds (\d+) orders/.exec(ran.stdout);
    assert.ok(landed, ran.stdout);
    // Every id is new in 5000 records (ids repeat only after 50000), so every written record is its own row.
    assert.equal(Number(landed[1]), Number(written[1]!.replace(/,/g, '')));
    const dead = (await readFile(join(dir, '.sluice', 'quickstart', 'dlq.jsonl'), 'utf8')).trim().split('\n');
    assert.match(ran.stdout, new RegExp(`dead-lettered ${dead.length}`));
  });
});
