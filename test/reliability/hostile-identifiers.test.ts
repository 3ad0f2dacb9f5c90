import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { pino } from 'pino';
import { PostgresCdcSource } from '../../connectors/postgres/cdc-source.js';
import { quoteIdentifier } from '../../connectors/postgres/quote-identifier.js';
import type { ChangeRecord } from '../../runtime/record.js';
import { usePostgres, uniqueName } from '../support/postgres.js';

const postgres = usePostgres();

const SCHEMA = 'we"ird; DROP TABLE public.victims; --';
const TABLE = 'evil"; DROP TABLE public.victims; -- \' )';
const COLUMN = 'x"; DROP TABLE public.victims; --';
const VALUE = '\'); DROP TABLE public.victims; -- \\" $$ $1';

describe('security: hostile identifiers and values from the CDC source never change the SQL', () => {
  test('a schema, table, column and publication named like SQL, holding SQL-like text, are captured as is', async (t) => {
    const database = await postgres.database('hostile');
    const table = `${quoteIdentifier(SCHEMA)}.${quoteIdentifier(TABLE)}`;
    await database.pool.query('CREATE TABLE public.victims (id int PRIMARY KEY)');
    await database.pool.query('INSERT INTO public.victims VALUES (1)');
    await database.pool.query(`CREATE SCHEMA ${quoteIdentifier(SCHEMA)}`);
    await database.pool.query(
      `CREATE TABLE ${table} (id int PRIMARY KEY, ${quoteIdentifier(COLUMN)} text, "Mixed Case" int)`,
    );
    await database.pool.query(`INSERT INTO ${table} VALUES (1, $1, 1), (2, $1, 2)`, [VALUE]);
    const slot = uniqueName('hostile_slot');
    t.after(() =>
      database.pool.query(
        'SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      ),
    );
    const checkpoints = new Map<string, unknown>();
    const source = new PostgresCdcSource(
      {
        url: database.url,
        tables: [table],
        publication: `pub"; DROP TABLE public.victims; --`,
        slot,
        heartbeat: '200ms',
      },
      'hostile',
    );
    await source.connect({
      pipeline: 'test',
      name: 'hostile',
      logger: pino({ level: 'silent' }),
      checkpoints: {
        load: async (key) => checkpoints.get(key),
        save: async (key, value) => void checkpoints.set(key, value),
        close: async () => undefined,
      },
      signal: new AbortController().signal,
    });
    try {
      await database.pool.query(`UPDATE ${table} SET ${quoteIdentifier(COLUMN)} = $1 || '!' WHERE id = 1`, [
        VALUE,
      ]);
      await database.pool.query(`DELETE FROM ${table} WHERE id = 2`);
      const records: ChangeRecord[] = [];
      const deadline = Date.now() + 15_000;
      while (records.length < 4 && Date.now() < deadline) {
        const batch = await source.read();
        if (batch === null) continue;
        records.push(...batch.records);
        batch.ack();
      }
      assert.deepEqual(
        records.map((record) => [record.op, record.source.table, record.key, record.after]),
        [
          ['read', `${SCHEMA}.${TABLE}`, { id: 1 }, { id: 1, [COLUMN]: VALUE, 'Mixed Case': 1 }],
          ['read', `${SCHEMA}.${TABLE}`, { id: 2 }, { id: 2, [COLUMN]: VALUE, 'Mixed Case': 2 }],
          ['update', `${SCHEMA}.${TABLE}`, { id: 1 }, { id: 1, [COLUMN]: `${VALUE}!`, 'Mixed Case': 1 }],
          ['delete', `${SCHEMA}.${TABLE}`, { id: 2 }, null],
        ],
      );
    } finally {
      await source.close();
    }
    const victims = await database.pool.query('SELECT id FROM public.victims');
    assert.deepEqual(victims.rows, [{ id: 1 }]);
  });
});
