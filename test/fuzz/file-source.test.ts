import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { FileSource, type FileSourceSettings } from '../../connectors/file/file-source.js';
import { Decimal } from '../../runtime/decimal.js';
import { SluiceError } from '../../runtime/errors.js';
import type { SourceBatch } from '../../runtime/source.js';
import { readAll, sourceContext } from '../connectors/file/source-context.js';
import { notAValue } from './is-value.js';

let dir: string;
let runs = 0;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-fuzz-file-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `contents` to a file of its own and reads it to the end with a file source of `settings`. */
async function readFile(
  contents: string | Uint8Array,
  settings: Partial<FileSourceSettings>,
): Promise<SourceBatch[]> {
  const run = ++runs;
  const file = join(dir, `input-${run}`);
  await writeFile(file, contents);
  const source = new FileSource({
    file,
    path: `input-${run}`,
    format: 'csv',
    records: 'rows',
    key: undefined,
    op: 'insert',
    batchRecords: 7,
    header: true,
    delimiter: ',',
    columns: undefined,
    ...settings,
  });
  await source.connect(sourceContext(join(dir, `state-${run}`)));
  try {
    return await readAll(source);
  } finally {
    await source.close();
  }
}

/** A CSV field: the text, quoted when it must be. */
const csvField = (text: string) =>
  /[",\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;

const nameText = fc
  .array(fc.oneof(fc.string({ maxLength: 4 }), fc.constantFrom('"', ',', '\n', '""', ' ', 'é', '😀')), {
    maxLength: 4,
  })
  .map((parts) => parts.join(''))
  .filter((text) => text !== '');
const goodRow = fc.record({
  id: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  amount: fc
    .tuple(fc.integer({ min: -99_999, max: 99_999 }), fc.stringMatching(/^\d{1,6}$/))
    .map(([whole, fraction]) => `${whole}.${fraction}`),
  name: nameText,
  ok: fc.boolean(),
});
/** A field that breaks its column's type (a line that must go to the DLQ). */
const badField = fc.oneof(
  fc.record({ column: fc.constant('id' as const), text: fc.constantFrom('1.5', 'x', '12a', '--1', '1e3') }),
  fc.record({
    column: fc.constant('amount' as const),
    text: fc.constantFrom('1.', '.5', 'abc', '1,5', '0x10', 'NaN'),
  }),
  fc.record({ column: fc.constant('ok' as const), text: fc.constantFrom('yes', 'tru', '2', 'null') }),
);
const csvRow = fc.tuple(goodRow, fc.option(badField, { freq: 4, nil: undefined }));

describe('fuzz: CSV and JSON lines files (connectors/file/file-source.ts)', () => {
  test('typed CSV: good rows arrive exactly, every bad row goes to the DLQ with its line, nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(csvRow, { minLength: 1, maxLength: 25 }), async (rows) => {
        let line = 2;
        const expectedGood: { id: bigint | number; amount: string; name: string; ok: boolean }[] = [];
        const expectedBad: number[] = [];
        const text = ['id,amount,name,ok'];
        for (const [row, bad] of rows) {
          const fields: Record<string, string> = {
            id: String(row.id),
            amount: row.amount,
            name: row.name,
            ok: String(row.ok),
          };
          if (bad) {
            fields[bad.column] = bad.text;
            expectedBad.push(line);
          } else {
            expectedGood.push({ ...row, id: Number.isSafeInteger(Number(row.id)) ? Number(row.id) : row.id });
          }
          text.push(['id', 'amount', 'name', 'ok'].map((column) => csvField(fields[column]!)).join(','));
          line += 1 + (row.name.match(/\n/g)?.length ?? 0);
        }
        const batches = await readFile(`${text.join('\n')}\n`, {
          columns: { id: 'integer', amount: 'decimal', ok: 'boolean' },
        });
        const records = batches.flatMap((batch) => batch.records);
        const rejected = batches.flatMap((batch) => batch.rejected ?? []);
        assert.deepEqual(
          records.map((record) => record.after),
          expectedGood.map((row) => ({
            id: row.id,
            amount: new Decimal(row.amount),
            name: row.name,
            ok: row.ok,
          })),
        );
        assert.deepEqual(
          rejected.map((letter) => letter.source?.position),
          expectedBad.map((number) => `input-${runs}:${number}`),
        );
        for (const letter of rejected)
          assert.match(letter.reason, /^input-\d+ line \d+: column "(id|amount|ok)": expected/);
      }),
      { numRuns: 150 },
    );
  });

  test('any bytes as a CSV or JSON lines file: records of Sluice values and dead letters with a position, or a header error', async () => {
    const contents = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc.uint8Array({ maxLength: 200 }),
      fc
        .array(
          fc.oneof(fc.json(), fc.string({ maxLength: 12 }), fc.constantFrom('"', '""', ',', '{', '\r')),
          { maxLength: 12 },
        )
        .map((lines) => lines.join('\n')),
    );
    await fc.assert(
      fc.asyncProperty(
        contents,
        fc.constantFrom<'csv' | 'jsonl'>('csv', 'jsonl'),
        fc.boolean(),
        async (text, format, typed) => {
          let batches: SourceBatch[];
          try {
            batches = await readFile(text, {
              format,
              columns: typed ? { a: 'json' } : undefined,
              header: true,
            });
          } catch (error) {
            assert.ok(
              error instanceof SluiceError && error.code === 'FILE_HEADER_INVALID',
              `unexpected ${String(error)}`,
            );
            return;
          }
          for (const batch of batches) {
            for (const record of batch.records) {
              assert.equal(notAValue(record.after), undefined);
              assert.match(record.source.position, /^input-\d+:\d+$/);
            }
            for (const letter of batch.rejected ?? []) {
              assert.match(letter.source?.position ?? '', /^input-\d+:\d+$/);
              assert.ok(letter.reason.length > 0);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
