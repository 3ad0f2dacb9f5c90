import type { ConfigIssue } from '../../runtime/component.js';
import { defineSink } from '../../runtime/component.js';
import { parseDuration } from '../../runtime/config/index.js';
import { messageOf } from '../../runtime/errors.js';
import { connectionIssues } from './connection.js';
import { COLUMN_TYPE } from './schema-manager.js';
import { keepsTombstones, PostgresSinkConfigSchema, type PostgresSinkConfig } from './sink-config.js';
import { ResolvedConsistencySink } from './resolved-consistency-sink.js';
import { PostgresSink } from './sink.js';
import { TableTemplate } from './table-template.js';

/** The `postgres` sink type: upserts, appends and deletes into Postgres tables, with newer-wins and schema drift. */
export const postgresSinkDefinition = defineSink({
  type: 'postgres',
  summary: 'Write change records into Postgres tables (append or upsert, deletes, newer-wins, schema drift)',
  schema: PostgresSinkConfigSchema,
  check: checkPostgresSinkConfig,
  acksAwaitWatermarks: (config) => (config.consistency === 'resolved' ? ['consistency'] : undefined),
  create: (config) =>
    config.consistency === 'resolved'
      ? new ResolvedConsistencySink(new PostgresSink(config), config.version_from!)
      : new PostgresSink(config),
});

/** Checks the schema cannot express: a connection is named, the table parses, version options come in pairs. */
function checkPostgresSinkConfig(config: PostgresSinkConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = connectionIssues(config);
  try {
    new TableTemplate(config.table);
  } catch (error) {
    issues.push({ path: ['table'], message: messageOf(error) });
  }
  if (config.version_column !== undefined && config.version_from === undefined) {
    issues.push({
      path: ['version_from'],
      message:
        'version_column needs version_from: the record field holding the version (source.lsn, source.hlc, after.updated_at, ...)',
    });
  }
  if (config.version_from !== undefined && config.version_column === undefined) {
    issues.push({
      path: ['version_column'],
      message: "version_from needs version_column: the table column that stores each row's version",
    });
  }
  if (
    config.version_from !== undefined &&
    !/^(source|after|before|key|headers)(\.[^.]+)+$/.test(config.version_from)
  ) {
    issues.push({
      path: ['version_from'],
      message: `expected a field path such as source.lsn or after.updated_at, got ${JSON.stringify(config.version_from)}`,
    });
  }
  if (config.consistency === 'resolved' && (config.version_from === undefined || config.mode === 'append')) {
    issues.push({
      path: ['consistency'],
      message:
        'consistency: resolved needs mode: upsert with version_column and version_from (the version compared with the resolved timestamp, e.g. source.hlc)',
    });
  }
  if (config.tombstones === true && !keepsTombstones({ ...config, tombstones: undefined })) {
    issues.push({
      path: ['tombstones'],
      message: 'tombstones apply to mode: upsert with version_column and deletes: delete or soft',
    });
  }
  if (config.tombstone_retention !== undefined) {
    try {
      parseDuration(config.tombstone_retention);
    } catch (error) {
      issues.push({ path: ['tombstone_retention'], message: messageOf(error) });
    }
  }
  if (config.mode === 'append' && config.key !== undefined) {
    issues.push({ path: ['key'], message: 'key applies to mode: upsert only' });
  }
  if (config.soft_delete !== undefined && config.deletes !== 'soft') {
    issues.push({ path: ['soft_delete'], message: 'soft_delete applies to deletes: soft only' });
  }
  for (const [column, type] of Object.entries(config.columns ?? {})) {
    if (!COLUMN_TYPE.test(type))
      issues.push({
        path: ['columns', column],
        message: `expected a Postgres type name such as numeric(12,2) or text[], got ${JSON.stringify(type)}`,
      });
  }
  return issues;
}
