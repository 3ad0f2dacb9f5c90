import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { SluiceProcess } from './sluice-process.js';

/** A bounded file → file pipeline whose source checkpoint (the line reached) lives in `./state`. */
const PIPELINE = `name: reliability-checkpoint
sources:
  orders: { type: file, path: ./orders.jsonl, key: [id] }
sinks:
  copy: { from: orders, type: file, path: ./copy.jsonl }
runtime:
  state_dir: ./state
`;

/** Runs the pipeline once over 50 lines, then appends 10 more; returns the directory and the checkpoint files. */
async function ranOnce(t: TestContext): Promise<{ dir: string; files: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-checkpoint-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines = (from: number, to: number) =>
    Array.from(
      { length: to - from + 1 },
      (_, index) => `${JSON.stringify({ id: from + index, amount: (from + index) * 3 })}\n`,
    ).join('');
  await writeFile(join(dir, 'orders.jsonl'), lines(1, 50));
  await writeFile(join(dir, 'pipeline.yaml'), PIPELINE);
  const first = await SluiceProcess.run(['run', join(dir, 'pipeline.yaml')]);
  assert.equal(first.code, 0, first.output.slice(-1500));
  assert.equal((await copied(dir)).length, 50);
  await writeFile(join(dir, 'orders.jsonl'), lines(1, 60));
  const files = (await readdir(join(dir, 'state'), { recursive: true }))
    .filter((name) => name.endsWith('.json'))
    .map((name) => join(dir, 'state', name));
  assert.ok(files.length > 0, 'the run saved a checkpoint');
  return { dir, files };
}

async function copied(dir: string): Promise<number[]> {
  const text = await readFile(join(dir, 'copy.jsonl'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => (JSON.parse(line) as { id: number }).id);
}

/** The checkpoint file of the file source (the one whose checkpoint holds a line number). */
async function sourceCheckpoint(files: string[]): Promise<string> {
  for (const file of files) if (/"line":\s*50\b/.test(await readFile(file, 'utf8'))) return file;
  throw new Error(`no checkpoint file holds line 50: ${files.join(', ')}`);
}

describe('checkpoints: a corrupt or deleted checkpoint stops `sluice run`, named, with the way to recover; never a silent reset', () => {
  test('a checkpoint changed, cut short, emptied or deleted: exit 1 naming the file, nothing read again or skipped; intact: resumes', async (t) => {
    const { dir, files } = await ranOnce(t);
    const file = await sourceCheckpoint(files);
    const intact = await readFile(file, 'utf8');
    const corruptions: [string, string][] = [
      ['the position changed (checksum mismatch)', intact.replace(/"line":\s*50\b/, '"line": 40')],
      ['cut short (not JSON)', intact.slice(0, Math.floor(intact.length / 2))],
      ['emptied', ''],
    ];
    for (const [what, text] of corruptions) {
      await writeFile(file, text);
      const run = await SluiceProcess.run(['run', join(dir, 'pipeline.yaml')]);
      const output = run.output.slice(-1500);
      assert.equal(run.code, 1, `${what}: ${output}`);
      const said = run.output.split('\n').find((line) => line.startsWith('sluice: ')) ?? '';
      assert.ok(
        said.includes(`checkpoint file ${file} is corrupt`),
        `${what}: the error line names the file: ${said || output}`,
      );
      assert.match(
        said,
        /restore the file from a backup, or delete it and remove "[^"]+" from \S+~keys\.json to start over/,
        what,
      );
      assert.deepEqual(
        await copied(dir),
        Array.from({ length: 50 }, (_, index) => index + 1),
        `${what}: nothing read again or skipped`,
      );
    }
    await rm(file);
    const deleted = await SluiceProcess.run(['run', join(dir, 'pipeline.yaml')]);
    assert.equal(deleted.code, 1, `deleted: ${deleted.output.slice(-1500)}`);
    const said = deleted.output.split('\n').find((line) => line.startsWith('sluice: ')) ?? '';
    assert.ok(
      said.includes(`checkpoint file ${file} is missing`),
      `deleted: ${said || deleted.output.slice(-1500)}`,
    );
    assert.deepEqual(
      await copied(dir),
      Array.from({ length: 50 }, (_, index) => index + 1),
      'deleted: nothing read again',
    );
    await writeFile(file, intact);
    const resumed = await SluiceProcess.run(['run', join(dir, 'pipeline.yaml')]);
    assert.equal(resumed.code, 0, resumed.output.slice(-1500));
    assert.deepEqual(
      await copied(dir),
      Array.from({ length: 60 }, (_, index) => index + 1),
      'the 10 new lines, each once',
    );
  });
});
