import type { ConfigIssue } from '../../runtime/component.js';
import { defineSource } from '../../runtime/component.js';
import { messageOf } from '../../runtime/errors.js';
import { connectionIssues } from './connection.js';
import { PostgresPollSource } from './source-poll.js';
import { PostgresPollConfigSchema, type PostgresPollConfig } from './source-poll-config.js';
import { TableName } from './table-name.js';

/** The `postgres_poll` source type: reads new and changed rows of a table by polling an `updated_at`-like column. */
export const postgresPollSourceDefinition = defineSource({
  type: 'postgres_poll',
  summary: 'Read new and changed rows of a Postgres table by polling a cursor column (no replication needed; deletes are not seen)',
  schema: PostgresPollConfigSchema,
  check: checkPostgresPollConfig,
  create: (config, context) => new PostgresPollSource(config, context.node),
});

/** Checks the schema cannot express: a connection is named and the table name parses. */
function checkPostgresPollConfig(config: PostgresPollConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = connectionIssues(config);
  try {
    TableName.parse(config.table);
  } catch (error) {
    issues.push({ path: ['table'], message: messageOf(error) });
  }
  return issues;
}
