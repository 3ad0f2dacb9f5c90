import { pino } from 'pino';
import { stdoutSink } from '../../../connectors/stdout/index.js';
import { Decimal } from '../../../runtime/decimal.js';
import type { ChangeRecord } from '../../../runtime/record.js';
import type { Sink } from '../../../runtime/sink.js';

/** Prints `argv[2]` batches of 1000 records through the stdout sink (run by stdout/sink.test.ts as a child process). */
const logger = pino({ level: 'silent' });
const sink = stdoutSink.create({ format: 'rows' }, { pipeline: 'test', node: 'out', configDir: '.', logger }) as Sink;
await sink.connect({ pipeline: 'test', name: 'out', logger });
const batches = Number(process.argv[2]);
for (let batch = 0; batch < batches; batch++) {
  const records: ChangeRecord[] = Array.from({ length: 1000 }, (_, index) => ({
    op: 'insert',
    key: null,
    before: null,
    after: { n: batch * 1000 + index, amount: new Decimal('26.30'), padding: 'x'.repeat(100) },
    source: { name: 'gen', position: `gen:${index}` },
    sourceTimeMs: null,
    ingestTimeMs: 0,
    headers: {},
  }));
  await sink.write(records);
}
await sink.close();
