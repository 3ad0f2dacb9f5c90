import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Decimal } from '../../runtime/decimal.js';
import { SluiceError } from '../../runtime/errors.js';
import { FileCheckpointStore } from '../../runtime/file-checkpoint-store.js';

describe('FileCheckpointStore', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'sluice-checkpoints-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('load gives undefined for a key never saved, and a saved checkpoint after save', async () => {
    const store = new FileCheckpointStore(join(root, 'roundtrip', 'state'));
    assert.equal(await store.load('pipe/source/file'), undefined);
    const checkpoint = {
      line: 42,
      byte: 1187,
      lsn: 12345678901234567890n,
      amount: new Decimal('26.30'),
      parts: [1, 'a', null],
    };
    await store.save('pipe/source/file', checkpoint);
    assert.deepEqual(await store.load('pipe/source/file'), checkpoint);
    await store.close();
  });

  test('writes one file per key with version, checksum and time, and distinct keys never share a file', async () => {
    const directory = join(root, 'layout');
    const store = new FileCheckpointStore(directory);
    const keys = ['a/b', 'a%2fb', 'a_b', '../escape', 'ünï/cödé', 'x'.repeat(400), `${'x'.repeat(400)}y`];
    for (const [index, key] of keys.entries()) await store.save(key, { index });
    for (const [index, key] of keys.entries()) assert.deepEqual(await store.load(key), { index });
    const files = (await readdir(directory)).filter((file) => file !== '~keys.json');
    assert.equal(files.length, keys.length);
    assert.deepEqual(
      JSON.parse(await readFile(join(directory, '~keys.json'), 'utf8')),
      [...keys].sort(),
      'every key is listed',
    );
    assert.ok(
      files.every((file) => file.endsWith('.json') && !file.startsWith('.') && file.length < 255),
      files.join(' '),
    );
    const content = JSON.parse(await readFile(store.fileOf('a/b'), 'utf8')) as {
      version: number;
      checkpoint: unknown;
      sha256: string;
      saved_at: string;
    };
    assert.equal(content.version, 1);
    assert.deepEqual(content.checkpoint, { index: 0 });
    assert.match(content.sha256, /^[0-9a-f]{64}$/);
    assert.ok(Math.abs(Date.parse(content.saved_at) - Date.now()) < 60_000);
    await store.close();
  });

  test('concurrent saves of one key are serialised: the last call wins and no temporary file is left', async () => {
    const directory = join(root, 'concurrent');
    const store = new FileCheckpointStore(directory);
    await Promise.all(
      Array.from({ length: 40 }, (_, index) => store.save('k', { index, padding: 'x'.repeat(index * 100) })),
    );
    assert.deepEqual(await store.load('k'), { index: 39, padding: 'x'.repeat(3900) });
    const pending = Array.from({ length: 10 }, (_, index) => store.save('k', { index: 100 + index }));
    assert.deepEqual(await store.load('k'), { index: 109 }, 'load waits for pending saves');
    await Promise.all(pending);
    assert.deepEqual((await readdir(directory)).sort(), ['k.json', '~keys.json']);
    await store.close();
  });

  test('a checkpoint edited without its checksum is refused as corrupt, naming the file and the way out', async () => {
    const store = new FileCheckpointStore(join(root, 'tampered'));
    await store.save('p/s/file', { line: 10, byte: 200 });
    const file = store.fileOf('p/s/file');
    await writeFile(file, (await readFile(file, 'utf8')).replace('"line":10', '"line":11'));
    await assert.rejects(store.load('p/s/file'), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'CHECKPOINT_CORRUPT');
      assert.ok(error.message.includes(file), error.message);
      assert.match(error.message, /sha256/);
      assert.match(error.message, /delete it and remove "p\/s\/file" from \S+~keys\.json to start over/);
      return true;
    });
    await store.close();
  });

  test('a checkpoint file deleted after it was saved is refused as missing, naming the way out', async () => {
    const directory = join(root, 'deleted');
    const store = new FileCheckpointStore(directory);
    await store.save('p/s/file', { line: 10 });
    await store.save('p/s/other', { line: 3 });
    await rm(store.fileOf('p/s/file'));
    await assert.rejects(store.load('p/s/file'), (error: unknown) => {
      assert.ok(error instanceof SluiceError);
      assert.equal(error.code, 'CHECKPOINT_MISSING');
      assert.ok(error.message.includes(store.fileOf('p/s/file')), error.message);
      assert.match(error.message, /remove "p\/s\/file" from \S+~keys\.json to start over/);
      return true;
    });
    assert.equal(await store.load('p/s/new'), undefined, 'a key never saved is new');
    await store.close();

    // Taking the key off the list is how a source is started over; a fresh store reads the list again.
    await writeFile(join(directory, '~keys.json'), JSON.stringify(['p/s/other']));
    const reopened = new FileCheckpointStore(directory);
    assert.equal(await reopened.load('p/s/file'), undefined);
    assert.deepEqual(await reopened.load('p/s/other'), { line: 3 });
    await writeFile(join(directory, '~keys.json'), '{"not": "a list"');
    await reopened.close();
    await assert.rejects(new FileCheckpointStore(directory).load('p/s/other'), {
      code: 'CHECKPOINT_CORRUPT',
      message: /key list .*~keys\.json is corrupt/,
    });
  });

  test('checkpoint files saved before the key list existed join it when read, and are then guarded too', async () => {
    const directory = join(root, 'upgraded');
    const store = new FileCheckpointStore(directory);
    await store.save('k', { line: 1 });
    await store.close();
    await rm(join(directory, '~keys.json'));
    const upgraded = new FileCheckpointStore(directory);
    assert.deepEqual(await upgraded.load('k'), { line: 1 });
    assert.deepEqual(JSON.parse(await readFile(join(directory, '~keys.json'), 'utf8')), ['k']);
    await rm(upgraded.fileOf('k'));
    await assert.rejects(upgraded.load('k'), { code: 'CHECKPOINT_MISSING' });
    await upgraded.close();
  });

  test('a file cut short or not in the expected shape is refused as corrupt', async () => {
    const store = new FileCheckpointStore(join(root, 'broken'));
    await store.save('cut', { line: 1 });
    const cut = store.fileOf('cut');
    const text = await readFile(cut, 'utf8');
    await writeFile(cut, text.slice(0, text.length / 2));
    await assert.rejects(store.load('cut'), { code: 'CHECKPOINT_CORRUPT', message: /does not parse/ });
    await writeFile(store.fileOf('other'), JSON.stringify({ version: 2, checkpoint: 1, sha256: 'x' }));
    await assert.rejects(store.load('other'), { code: 'CHECKPOINT_CORRUPT', message: /"version": 1/ });
    await writeFile(store.fileOf('bare'), '[1,2]');
    await assert.rejects(store.load('bare'), { code: 'CHECKPOINT_CORRUPT', message: /JSON object/ });
    await store.close();
  });

  test('a checksum does not depend on key order or formatting of the file', async () => {
    const store = new FileCheckpointStore(join(root, 'reformatted'));
    await store.save('k', { b: 2, a: { d: 4, c: 3 } });
    const file = store.fileOf('k');
    const content = JSON.parse(await readFile(file, 'utf8'));
    const reordered = {
      saved_at: content.saved_at,
      sha256: content.sha256,
      checkpoint: { a: { c: 3, d: 4 }, b: 2 },
      version: 1,
    };
    await writeFile(file, JSON.stringify(reordered, null, 2));
    assert.deepEqual(await store.load('k'), { a: { c: 3, d: 4 }, b: 2 });
    await store.close();
  });

  test('refuses a value JSON cannot hold, and calls after close', async () => {
    const store = new FileCheckpointStore(join(root, 'invalid'));
    assert.throws(() => store.save('k', undefined), { code: 'CHECKPOINT_INVALID' });
    assert.throws(() => store.save('k', { n: Number.NaN }), { code: 'CHECKPOINT_INVALID' });
    await store.close();
    await store.close();
    assert.throws(() => store.save('k', 1), { code: 'CHECKPOINT_STORE_CLOSED' });
  });
});
