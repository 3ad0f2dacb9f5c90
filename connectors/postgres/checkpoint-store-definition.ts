import { Type } from '@sinclair/typebox';
import { defineCheckpointStore, type ConfigIssue } from '../../runtime/component.js';
import { messageOf } from '../../runtime/errors.js';
import { DEFAULT_CHECKPOINT_TABLE, PostgresCheckpointStore } from './checkpoint-store.js';
import { connectionIssues } from './connection.js';
import { PostgresConnectionSchema } from './sink-config.js';
import { TableName } from './table-name.js';

const schema = Type.Composite(
  [
    PostgresConnectionSchema,
    Type.Object({
      table: Type.Optional(
        Type.String({
          default: DEFAULT_CHECKPOINT_TABLE,
          description:
            "'schema.table' or 'table' (schema public) holding one row per source; created when absent",
        }),
      ),
    }),
  ],
  { additionalProperties: false },
);

/** The `postgres` checkpoint store type of the `checkpoints:` section: a {@link PostgresCheckpointStore}. */
export const postgresCheckpointStoreDefinition = defineCheckpointStore({
  type: 'postgres',
  summary: 'Keep source checkpoints in a Postgres table, one checksummed row per source',
  schema,
  check(config) {
    const issues: ConfigIssue[] = connectionIssues(config);
    try {
      TableName.parse(config.table ?? DEFAULT_CHECKPOINT_TABLE);
    } catch (error) {
      issues.push({ path: ['table'], message: messageOf(error) });
    }
    return issues;
  },
  create: (config) => new PostgresCheckpointStore(config),
});
