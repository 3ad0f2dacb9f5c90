import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { crdbSinklessSource } from '../../../connectors/crdb/sinkless-source.js';
import { postgresSinkDefinition } from '../../../connectors/postgres/index.js';
import { transformOperator } from '../../../operators/transform.js';
import type { ComponentRegistry } from '../../../runtime/component.js';
import { CrdbSqlPeer, type PeerRow } from '../../support/crdb-sql-peer.js';
import { MemoryCheckpoints } from '../../support/crdb-source-context.js';
import { uniqueName, usePostgres } from '../../support/postgres.js';
import { yamlPipeline } from '../../support/yaml-pipeline.js';

const postgres = usePostgres();
let peer: CrdbSqlPeer;
before(async () => {
  peer = await CrdbSqlPeer.start();
});
after(() => peer.stop());

const registry: ComponentRegistry = {
  sources: new Map([[crdbSinklessSource.type, crdbSinklessSource]]),
  operators: new Map([[transformOperator.type, transformOperator]]),
  sinks: new Map([[postgresSinkDefinition.type, postgresSinkDefinition]]),
};

/** Digits a JS number cannot hold: INT8 extremes, an integer just above 2^53, exact decimals. */
const INT8_MAX = '9223372036854775807';
const INT8_MIN = '-9223372036854775808';
const ABOVE_2_53 = '9007199254740993';
/** Commit wall times one nanosecond apart (one double apart they are not: doubles there are 256 ns apart). */
const WALL = 1746045115619002000n;

/**
 * A sinkless row of `envelope=enriched, enriched_properties=source, updated` for `bank.public.ledger`, shaped as the
 * recorded Kafka message (test/connectors/crdb/fixtures, line 38): the column values go in as written, digits and all.
 */
function ledgerRow(id: string, columns: string, wall: bigint, logical: number): PeerRow {
  const hlc = `${wall}.${String(logical).padStart(10, '0')}`;
  const source =
    `{"changefeed_sink": "sinkless buffer", "cluster_id": "585e6512-ea54-490a-8f1d-50c8d182a2e6", ` +
    `"cluster_name": "", "database_name": "bank", "db_version": "v25.2.0", "job_id": "0", "node_id": "1", ` +
    `"node_name": "localhost", "origin": "cockroachdb", "primary_keys": ["id"], "schema_name": "public", ` +
    `"source_node_locality": "", "table_name": "ledger", "ts_hlc": "${hlc}", "ts_ns": ${wall}}`;
  return {
    table: 'ledger',
    key: `{"id": ${id}}`,
    value: `{"after": {"id": ${id}, ${columns}}, "op": "c", "source": ${source}, "ts_ns": ${wall + 60_809_000n}}`,
  };
}

void describe('crdb_sinkless → postgres keeps every digit', () => {
  void test('INT8 beyond 2^53, exact DECIMALs, ts_ns and the HLC version arrive in Postgres as CockroachDB sent them', async () => {
    const db = await postgres.database('crdb_lossless');
    const table = uniqueName('ledger');
    const resolved = `${WALL + 10n}.0000000000`;
    const rows: PeerRow[] = [
      ledgerRow(INT8_MAX, `"big": ${INT8_MIN}, "price": 26.31, "tiny": 0.000000000000000002`, WALL, 0),
      ledgerRow(INT8_MAX, `"big": ${ABOVE_2_53}, "price": 26.30, "tiny": 0.000000000000000001`, WALL + 1n, 0),
      // The first change again, after the newer one: its version is 1 ns older, so it must not apply.
      ledgerRow(INT8_MAX, `"big": ${INT8_MIN}, "price": 26.31, "tiny": 0.000000000000000002`, WALL, 0),
      ledgerRow(
        ABOVE_2_53,
        `"big": ${INT8_MAX}, "price": 12345678901234567890.123456789012345678, "tiny": 0.10`,
        WALL + 2n,
        1,
      ),
      { table: null, key: null, value: `{"resolved": "${resolved}"}` },
    ];
    const yaml = [
      'name: crdb-lossless',
      'sources:',
      '  feed:',
      '    type: crdb_sinkless',
      `    url: ${peer.url()}`,
      '    tables: [ledger]',
      '    envelope: enriched',
      '    diff: false',
      "    options: { enriched_properties: 'source' }",
      'operators:',
      '  stamped:',
      '    type: transform',
      '    from: feed',
      '    on_error: fail',
      '    set: { commit_ts_ns: source.ts_ns, processed_ts_ns: source.processed_ts_ns }',
      'sinks:',
      '  target:',
      '    type: postgres',
      '    from: [stamped]',
      '    url: ${PG_URL}',
      `    table: ${table}`,
      '    create_table: true',
      // The first price (26.31) reads as a double and makes a double precision column; 26.30 must widen it.
      '    schema_drift: auto',
      '    version_column: hlc',
      '    version_from: source.hlc',
      '    batch: { max_records: 1, max_wait: 1ms }',
    ].join('\n');
    const checkpoints = new MemoryCheckpoints();
    const pipeline = await yamlPipeline(
      yaml,
      'crdb-lossless.yaml',
      registry,
      { PG_URL: db.url },
      checkpoints,
    );
    peer.feed(rows);
    const running = pipeline.run();
    running.catch(() => undefined);
    try {
      // The resolved timestamp is saved only once every change before it is written.
      const deadline = Date.now() + 15_000;
      while (!JSON.stringify([...checkpoints.values.values()]).includes(resolved)) {
        assert.ok(Date.now() < deadline, `the checkpoint did not reach ${resolved}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } finally {
      pipeline.stop();
    }
    await running;

    const written = await db.pool.query<Record<string, string>>(
      'SELECT id::text, big::text, price::text, tiny::text, commit_ts_ns::text, processed_ts_ns::text, ' +
        `hlc::text FROM ${table} ORDER BY ${table}.id`,
    );
    assert.deepEqual(written.rows, [
      {
        id: ABOVE_2_53,
        big: INT8_MAX,
        price: '12345678901234567890.123456789012345678',
        tiny: '0.10',
        commit_ts_ns: '1746045115619002002',
        processed_ts_ns: '1746045115679811002',
        hlc: '1746045115619002002.0000000001',
      },
      {
        id: INT8_MAX,
        big: ABOVE_2_53,
        price: '26.30',
        tiny: '0.000000000000000001',
        commit_ts_ns: '1746045115619002001',
        processed_ts_ns: '1746045115679811001',
        hlc: '1746045115619002001.0000000000',
      },
    ]);
  });
});
