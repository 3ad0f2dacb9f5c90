import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Hlc } from '../../../connectors/crdb/index.js';
import { Decimal } from '../../../runtime/decimal.js';
import { SluiceError } from '../../../runtime/errors.js';
import { usePostgres } from '../../support/postgres.js';

const postgres = usePostgres();

const MAX_WALL = 2n ** 63n - 1n;
const MAX_LOGICAL = 2 ** 31 - 1;

/** Random HLCs, biased towards equal walls and small logicals so ties and near-ties are common. */
const hlcParts = fc.record({
  wall: fc.oneof(
    fc.bigInt({ min: 0n, max: MAX_WALL }),
    fc.constantFrom(0n, 1747243394200039000n, 1747243394200039001n, MAX_WALL),
  ),
  logical: fc.oneof(fc.integer({ min: 0, max: MAX_LOGICAL }), fc.integer({ min: 0, max: 3 })),
});

function lexicalCompare(a: { wall: bigint; logical: number }, b: { wall: bigint; logical: number }): number {
  if (a.wall !== b.wall) return a.wall < b.wall ? -1 : 1;
  return Math.sign(a.logical - b.logical);
}

void describe('Hlc', () => {
  void test('parses CockroachDB text and formats it back exactly', () => {
    const text = '1747243394200039000.0000000000';
    const hlc = Hlc.parse(text);
    assert.equal(hlc.wallNanos, 1747243394200039000n);
    assert.equal(hlc.logical, 0);
    assert.equal(hlc.toString(), text);
    assert.equal(JSON.stringify({ hlc }), `{"hlc":"${text}"}`);
    assert.equal(Hlc.parse('1532379887442299001.0000000042').logical, 42);
  });

  void test('accepts and drops the trailing ? of synthetic timestamps', () => {
    const hlc = Hlc.parse('1701102296662969433.0000000003?');
    assert.equal(hlc.toString(), '1701102296662969433.0000000003');
    assert.ok(hlc.equals(Hlc.parse('1701102296662969433.0000000003')));
  });

  void test('wall time in milliseconds, exact beyond 2^53 nanoseconds', () => {
    assert.equal(Hlc.parse('1747243394200039000.0000000000').wallTimeMs, 1747243394200);
    assert.equal(Hlc.parse('1747243394200999999.0000000009').wallTimeMs, 1747243394200);
    assert.equal(
      new Date(Hlc.parse('1590611959605806000.0000000000').wallTimeMs).toISOString(),
      '2020-05-27T20:39:19.605Z',
    );
  });

  void test('rejects what is not an HLC with CRDB_HLC_INVALID, saying what came', () => {
    const bad = [
      '',
      '1747243394200039000',
      '1747243394200039000.000000000',
      '1747243394200039000.00000000000',
      '01747243394200039000.0000000000',
      '-1.0000000000',
      '1747243394200039000.0000000000??',
      ' 1747243394200039000.0000000000',
      '1.5e18.0000000000',
      '9223372036854775808.0000000000',
      '1747243394200039000.2147483648',
      '0x10.0000000000',
    ];
    for (const text of bad) {
      assert.throws(
        () => Hlc.parse(text),
        (error: unknown) =>
          error instanceof SluiceError && error.code === 'CRDB_HLC_INVALID' && error.message.includes('got'),
        text,
      );
    }
    assert.throws(() => new Hlc(-1n, 0), { code: 'CRDB_HLC_INVALID' });
    assert.throws(() => new Hlc(0n, 0.5), { code: 'CRDB_HLC_INVALID' });
  });

  void test('text round-trips for every valid (wall, logical)', () => {
    fc.assert(
      fc.property(hlcParts, ({ wall, logical }) => {
        const text = `${wall}.${String(logical).padStart(10, '0')}`;
        const hlc = Hlc.parse(text);
        assert.equal(hlc.wallNanos, wall);
        assert.equal(hlc.logical, logical);
        assert.equal(hlc.toString(), text);
      }),
    );
  });

  void test('compares like (BigInt wall, int logical), and sorts that way', () => {
    fc.assert(
      fc.property(hlcParts, hlcParts, (a, b) => {
        const x = new Hlc(a.wall, a.logical);
        const y = new Hlc(b.wall, b.logical);
        const expected = lexicalCompare(a, b);
        assert.equal(Hlc.compare(x, y), expected);
        assert.equal(y.compareTo(x), lexicalCompare(b, a));
        assert.equal(x.equals(y), expected === 0);
      }),
    );
    fc.assert(
      fc.property(fc.array(hlcParts, { maxLength: 30 }), (parts) => {
        const sorted = parts.map((p) => new Hlc(p.wall, p.logical)).sort(Hlc.compare);
        const expected = [...parts]
          .sort(lexicalCompare)
          .map((p) => `${p.wall}.${String(p.logical).padStart(10, '0')}`);
        assert.deepEqual(sorted.map(String), expected);
      }),
    );
  });

  void test('the Decimal form holds exactly the same digits', () => {
    const hlc = Hlc.parse('1747243394200039000.0000000007');
    assert.ok(hlc.toDecimal() instanceof Decimal);
    assert.equal(hlc.toDecimal().text, '1747243394200039000.0000000007');
  });

  void test('a Postgres numeric version column orders like Hlc.compare, and gives the text back unchanged', async () => {
    const { pool: client } = await postgres.database('crdb_hlc');
    await client.query('CREATE TABLE crdb_hlc_versions (id int PRIMARY KEY, version numeric NOT NULL)');
    const samples = fc.sample(hlcParts, { numRuns: 300, seed: 42 });
    samples.push(
      { wall: 1n, logical: MAX_LOGICAL },
      { wall: 2n, logical: 0 },
      { wall: MAX_WALL, logical: MAX_LOGICAL },
    );
    const hlcs = samples.map((p) => new Hlc(p.wall, p.logical));
    await client.query('INSERT INTO crdb_hlc_versions SELECT * FROM unnest($1::int[], $2::numeric[])', [
      hlcs.map((_, index) => index),
      hlcs.map((hlc) => hlc.toDecimal().text),
    ]);
    const { rows } = await client.query<{ id: number; version: string }>(
      'SELECT id, version::text AS version FROM crdb_hlc_versions v ORDER BY v.version, v.id',
    );
    const expected = hlcs
      .map((hlc, id) => ({ id, hlc }))
      .sort((a, b) => Hlc.compare(a.hlc, b.hlc) || a.id - b.id);
    assert.deepEqual(
      rows.map((row) => row.version),
      expected.map((entry) => entry.hlc.toString()),
    );
    const { rows: guarded } = await client.query<{ n: string }>(
      'SELECT count(*) AS n FROM crdb_hlc_versions a JOIN crdb_hlc_versions b ON a.version < b.version',
    );
    let less = 0;
    for (const a of hlcs) for (const b of hlcs) if (Hlc.compare(a, b) < 0) less++;
    assert.equal(Number(guarded[0]!.n), less);
  });
});
