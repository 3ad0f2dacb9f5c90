import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { crdbSinklessSource } from '../../../connectors/crdb/sinkless-source.js';
import { postgresSinkDefinition } from '../../../connectors/postgres/index.js';
import { ResolvedConsistencySink } from '../../../connectors/postgres/resolved-consistency-sink.js';
import type { ComponentRegistry } from '../../../runtime/component.js';
import { CollectSink, makeRecord } from '../../runtime/engine/fixtures.js';
import { CrdbSqlPeer, type PeerRow } from '../../support/crdb-sql-peer.js';
import { MemoryCheckpoints } from '../../support/crdb-source-context.js';
import { generateTraffic, isResolvedState, sinklessRow, watchTarget } from '../../support/crdb-traffic.js';
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
  operators: new Map(),
  sinks: new Map([[postgresSinkDefinition.type, postgresSinkDefinition]]),
};

const sinkContext = { pipeline: 'test', name: 'target', logger: pino({ level: 'silent' }) };

void describe('ResolvedConsistencySink', () => {
  void test('refuses at once a record without a version, and a watermark that is not one', async () => {
    const inner = new CollectSink();
    const sink = new ResolvedConsistencySink(inner, 'source.hlc');
    await sink.connect(sinkContext);
    const versioned = {
      ...makeRecord('feed', 1),
      source: { name: 'feed', position: 'p1', hlc: '5.0000000000' },
    };
    const unversioned = makeRecord('feed', 2);
    const result = await sink.write([versioned, unversioned]);
    assert.deepEqual(
      result.rejected.map((letter) => letter.record),
      [unversioned],
    );
    assert.match(result.rejected[0]!.reason, /needs a version at source\.hlc/);
    await assert.rejects(sink.watermark('feed', 'soon'), { code: 'SINK_WATERMARK_INVALID' });
    await sink.watermark('other', '9.0000000000');
    assert.deepEqual(
      inner.writeSizes,
      [],
      "another source's watermark does not release this source's changes",
    );
    await sink.watermark('feed', '5.0000000000');
    assert.deepEqual(await result.applied, [], 'applied once the watermark reaches its version');
    assert.deepEqual(inner.records, [versioned]);
    await sink.close();
  });

  void test('holds a change at or below a watermark it applied (a partition taken over, or a replay) for the next one', async () => {
    const inner = new CollectSink();
    const sink = new ResolvedConsistencySink(inner, 'source.hlc');
    await sink.connect(sinkContext);
    const at = (id: number, hlc: string) => ({
      ...makeRecord('feed', id),
      source: { name: 'feed', position: `p${id}`, hlc },
    });
    const first = await sink.write([at(1, '5.0000000000'), at(2, '7.0000000000')]);
    await sink.watermark('feed', '6.0000000000');
    // p3 comes from a partition whose previous owner stopped before writing it; p1 is read again.
    const late = await sink.write([at(1, '5.0000000000'), at(3, '6.0000000000')]);
    let settled = false;
    void late.applied!.then(() => (settled = true));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'not acknowledged before a watermark wrote them');
    await sink.watermark('feed', '8.0000000000');
    assert.deepEqual(await first.applied, []);
    assert.deepEqual(await late.applied, []);
    assert.deepEqual(inner.writeSizes, [1, 3], 'the next watermark wrote them with the change it covers');
    assert.deepEqual(
      inner.records.map((record) => record.source.position),
      ['p1', 'p2', 'p1', 'p3'],
    );
    await sink.close();
  });
});

void describe('crdb_sinkless → postgres', () => {
  for (const consistency of ['per_key', 'resolved'] as const) {
    void test(`consistency: ${consistency}: replayed changefeed rows land as the source's final state`, async () => {
      const traffic = generateTraffic({ keys: 40, changes: 500, resolvedEvery: 40, partitions: 1, seed: 3 });
      const rows = traffic.events.map((event): PeerRow =>
        event.kind === 'resolved'
          ? { table: null, key: null, value: `{"resolved": "${event.hlc}"}` }
          : sinklessRow(event.change),
      );
      const table = uniqueName(`accounts_${consistency}`);
      const db = await postgres.database(`crdb_sinkless_${consistency}`);
      const yaml = [
        `name: crdb-sinkless-${consistency}`,
        'sources:',
        '  feed:',
        '    type: crdb_sinkless',
        `    url: ${peer.url()}`,
        '    tables: [accounts]',
        '    envelope: wrapped',
        '    diff: false',
        '    batch_records: 37',
        '    key_columns: { accounts: [id] }',
        'sinks:',
        '  target:',
        '    type: postgres',
        '    from: [feed]',
        '    url: ${PG_URL}',
        `    table: ${table}`,
        '    create_table: true',
        '    schema_drift: auto',
        '    version_column: hlc',
        '    version_from: source.hlc',
        '    deletes: soft',
        `    consistency: ${consistency}`,
        '    batch: { max_records: 25, max_wait: 5ms }',
      ].join('\n');
      const pipeline = await yamlPipeline(
        yaml,
        'crdb-sinkless.yaml',
        registry,
        { PG_URL: db.url },
        new MemoryCheckpoints(),
      );
      peer.feed(rows);
      const running = pipeline.run();
      running.catch(() => undefined);
      const seen = new Set<string>();
      let mixed = 0;
      try {
        await watchTarget(db.pool, table, traffic.finalState, running, (read) => {
          seen.add(JSON.stringify(read));
          if (!isResolvedState(read, traffic.resolvedStates)) mixed++;
        });
      } finally {
        pipeline.stop();
      }
      await running;
      if (consistency === 'resolved') {
        assert.equal(mixed, 0, 'every read of the target showed the source at some resolved timestamp');
        assert.ok(seen.size >= 2, 'the target was read in more than one state');
      }
    });
  }
});
