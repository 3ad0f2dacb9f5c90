import type { ConfigIssue } from '../../runtime/component.js';
import { defineSource } from '../../runtime/component.js';
import { messageOf } from '../../runtime/errors.js';
import { connectionIssues } from './connection.js';
import { PostgresCdcConfigSchema, type PostgresCdcConfig } from './cdc-config.js';
import { PostgresCdcSource } from './cdc-source.js';
import { TableName } from './table-name.js';

/** The `postgres_cdc` source type: logical replication (pgoutput) with a snapshot consistent with the slot. */
export const postgresCdcSourceDefinition = defineSource({
  type: 'postgres_cdc',
  summary: 'Capture changes from Postgres tables by logical replication (pgoutput), after a consistent snapshot',
  schema: PostgresCdcConfigSchema,
  check: checkPostgresCdcConfig,
  create: (config, context) => new PostgresCdcSource(config, context.node),
});

/** Checks the schema cannot express: a connection is named and every table name parses. */
function checkPostgresCdcConfig(config: PostgresCdcConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = connectionIssues(config);
  config.tables.forEach((table, index) => {
    try {
      TableName.parse(table);
    } catch (error) {
      issues.push({ path: ['tables', index], message: messageOf(error) });
    }
  });
  return issues;
}
