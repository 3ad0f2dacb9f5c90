import pg from 'pg';
import {
  checkCrdbSinkless,
  checkWebhookListener,
  type CrdbSinklessSourceConfig,
  type CrdbWebhookSourceConfig,
  SchemaRegistry,
} from '../connectors/crdb/index.js';
import { checkKafkaBrokers } from '../connectors/kafka/index.js';
import type { SettingValue } from '../connectors/kafka/client-settings.js';
import { checkCdcPrerequisites } from '../connectors/postgres/cdc-prerequisites.js';
import type { PostgresCdcConfig } from '../connectors/postgres/cdc-config.js';
import { describeTarget, poolConfig } from '../connectors/postgres/connection.js';
import { checkPostgresTarget, type PostgresSinkConfig } from '../connectors/postgres/index.js';
import { TableName } from '../connectors/postgres/table-name.js';
import type { ConfigIssue, ConfigPath } from '../runtime/component.js';
import { messageOf, SluiceError } from '../runtime/errors.js';

/**
 * Connects with one node's (already validated) options and reports what would stop it, as config issues;
 * `configDir` resolves the relative paths the options name.
 */
export type ConnectionCheck = (
  options: Record<string, unknown>,
  context: { readonly configDir: string },
) => Promise<ConfigIssue[]>;

/**
 * What `sluice validate --connect` checks, by node type (sources and sinks have distinct type names): Postgres
 * sink tables (`checkPostgresTarget`), `postgres_cdc` prerequisites (`checkCdcPrerequisites`, inside a
 * transaction that is rolled back, so a publication it would create is not left behind), sinkless CockroachDB
 * changefeeds (`checkCrdbSinkless`), Kafka clusters and source topics (`checkKafkaBrokers`, for `kafka` and
 * `crdb_kafka`), the schema registry of an Avro `crdb_kafka` source and a webhook source's TLS files and address
 * (`checkWebhookListener`). Kept here, in the
 * composition root, because connectors do not import each other and the runtime imports no connector.
 */
export const CONNECTION_CHECKS: ReadonlyMap<string, ConnectionCheck> = new Map<string, ConnectionCheck>([
  ['postgres', (options) => checkPostgresTarget({ config: options as PostgresSinkConfig })],
  ['postgres_cdc', (options) => checkCdcSource(options as PostgresCdcConfig)],
  [
    'crdb_sinkless',
    (options) => {
      const config = options as CrdbSinklessSourceConfig;
      return checkCrdbSinkless({ url: config.url, tables: config.tables });
    },
  ],
  ['crdb_kafka', async (options) => [...(await checkKafkaNode(options)), ...(await checkSchemaRegistry(options))]],
  ['kafka', (options) => checkKafkaNode(options)],
  [
    'crdb_webhook',
    (options, { configDir }) => checkWebhookListener(options as CrdbWebhookSourceConfig, configDir),
  ],
]);

/**
 * A Kafka source's or sink's cluster answers with the node's settings and, for a source with `topics`, has them.
 * (Source and sink share the type name `kafka`; only a source has `topics`.)
 */
function checkKafkaNode(options: Record<string, unknown>): Promise<ConfigIssue[]> {
  return checkKafkaBrokers({
    brokers: options.brokers as string,
    settings: options.settings as Record<string, SettingValue> | undefined,
    topics: Array.isArray(options.topics) ? (options.topics as string[]) : undefined,
  });
}

/** An Avro `crdb_kafka` source's registry answers (with the URL's credentials); no issue for JSON. */
async function checkSchemaRegistry(options: Record<string, unknown>): Promise<ConfigIssue[]> {
  const url = options.confluent_schema_registry;
  if (options.format !== 'avro' || typeof url !== 'string') return [];
  const problem = await new SchemaRegistry(url).problem();
  return problem === undefined ? [] : [{ path: ['confluent_schema_registry'], message: problem }];
}

/** Where each `checkCdcPrerequisites` failure points in the source's options. */
const CDC_ISSUE_PATHS: Readonly<Record<string, ConfigPath>> = {
  PG_TABLE_NOT_FOUND: ['tables'],
  PG_TABLE_NO_REPLICA_IDENTITY: ['tables'],
  PG_SLOT_MISMATCH: ['slot'],
  PG_SLOT_IN_USE: ['slot'],
  PG_NO_FREE_REPLICATION_SLOT: ['slot'],
  PG_PUBLICATION_MISSING_TABLES: ['publication'],
  PG_PUBLICATION_CREATE_FAILED: ['publication'],
};

async function checkCdcSource(config: PostgresCdcConfig): Promise<ConfigIssue[]> {
  const where = describeTarget(config);
  const server: ConfigPath = config.url === undefined ? ['host'] : ['url'];
  const client = new pg.Client(poolConfig(config, 'sluice/validate'));
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    return [{ path: server, message: `cannot connect to ${where}: ${messageOf(error)}` }];
  }
  try {
    await client.query('BEGIN');
    await checkCdcPrerequisites(client, {
      tables: config.tables.map((table) => TableName.parse(table)),
      slot: config.slot,
      publication: config.publication,
      where,
    });
    return [];
  } catch (error) {
    const path = error instanceof SluiceError ? (CDC_ISSUE_PATHS[error.code] ?? server) : server;
    return [{ path, message: messageOf(error) }];
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}
