import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PostgresCheckpointStore } from '../../../connectors/postgres/checkpoint-store.js';
import { Decimal } from '../../../runtime/decimal.js';
import { usePostgres } from '../../support/postgres.js';

const pg = usePostgres();

test('saves and loads checkpoints per key, exactly, and overwrites', async () => {
  const db = await pg.database();
  const store = new PostgresCheckpointStore({ url: db.url });
  try {
    assert.equal(await store.load('orders/source'), undefined);
    await store.save('orders/source', {
      lsn: '0/16B3748',
      offset: 12_345_678_901_234_567_890n,
      price: new Decimal('26.30'),
      files: ['a', 'b'],
    });
    await store.save('other/source', 7);
    assert.deepEqual(await store.load('orders/source'), {
      lsn: '0/16B3748',
      offset: 12_345_678_901_234_567_890n,
      price: new Decimal('26.30'),
      files: ['a', 'b'],
    });
    await store.save('orders/source', { lsn: '0/16B3800' });
    assert.deepEqual(await store.load('orders/source'), { lsn: '0/16B3800' });
    assert.equal(await store.load('other/source'), 7);
    const { rows } = await db.pool.query<{ pipeline_key: string; sha256: string; saved_at: Date }>(
      'SELECT pipeline_key, sha256, saved_at FROM sluice_checkpoints ORDER BY pipeline_key',
    );
    assert.deepEqual(
      rows.map((row) => row.pipeline_key),
      ['orders/source', 'other/source'],
    );
    assert.match(rows[0]!.sha256, /^[0-9a-f]{64}$/);
    assert.ok(rows[0]!.saved_at instanceof Date);
  } finally {
    await store.close();
    await store.close();
  }
});

test('a checkpoint edited behind its checksum is CHECKPOINT_CORRUPT, and stays so', async () => {
  const db = await pg.database();
  const store = new PostgresCheckpointStore({ url: db.url, table: 'state.checkpoints' });
  await db.pool.query('CREATE SCHEMA state');
  try {
    await store.save('p/s', { position: 10 });
    await db.pool.query(`UPDATE state.checkpoints SET checkpoint = '{"position": 11}'`);
    for (let attempt = 0; attempt < 2; attempt++) {
      await assert.rejects(store.load('p/s'), {
        code: 'CHECKPOINT_CORRUPT',
        message: /checkpoint "p\/s" in state\.checkpoints .* fails its checksum/,
      });
    }
    const { rows } = await db.pool.query('SELECT checkpoint::text FROM state.checkpoints');
    assert.deepEqual(rows, [{ checkpoint: '{"position": 11}' }]);
  } finally {
    await store.close();
  }
});

test('a value JSON cannot hold is refused before anything is written', async () => {
  const db = await pg.database();
  const store = new PostgresCheckpointStore({ url: db.url });
  try {
    await assert.rejects(store.save('k', { bad: Number.NaN }), { code: 'CHECKPOINT_INVALID' });
    assert.equal(await store.load('k'), undefined);
  } finally {
    await store.close();
  }
});
