export { postgresSinkDefinition } from './sink-definition.js';
export { PostgresSink, type PostgresSinkStats } from './sink.js';
export {
  PostgresSinkConfigSchema,
  PostgresConnectionSchema,
  type PostgresSinkConfig,
  type PostgresConnectionConfig,
} from './sink-config.js';
export { PostgresCheckpointStore, type PostgresCheckpointStoreOptions } from './checkpoint-store.js';
export { postgresCheckpointStoreDefinition } from './checkpoint-store-definition.js';
export { checkPostgresTarget, type CheckTargetOptions } from './check-target.js';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  type Health,
} from './circuit-breaker.js';
export { quoteIdentifier } from './quote-identifier.js';
export { postgresCdcSourceDefinition } from './cdc-source-definition.js';
export { PostgresCdcSource } from './cdc-source.js';
export { postgresPollSourceDefinition } from './source-poll-definition.js';
export { PostgresPollSource } from './source-poll.js';
