import { fileSink, fileSource } from '../connectors/file/index.js';
import { generateSource } from '../connectors/generate/index.js';
import { crdbSinklessSource, crdbWebhookSource } from '../connectors/crdb/index.js';
import { kafkaSink, kafkaSource } from '../connectors/kafka/index.js';
import { discardSink } from '../connectors/discard/index.js';
import {
  postgresCdcSourceDefinition,
  postgresCheckpointStoreDefinition,
  postgresPollSourceDefinition,
  postgresSinkDefinition,
} from '../connectors/postgres/index.js';
import { stdoutSink } from '../connectors/stdout/index.js';
import { crdbKafkaSource } from './crdb-kafka-source.js';
import {
  customOperator,
  dedupOperator,
  filterOperator,
  routeOperator,
  transformOperator,
  validateOperator,
} from '../operators/index.js';
import { OPERATOR_WORKER } from './operator-worker.js';
import type {
  CheckpointStoreDefinition,
  ComponentDefinition,
  ComponentRegistry,
  OperatorDefinition,
  SinkDefinition,
  SourceDefinition,
} from '../runtime/component.js';
import type { TSchema } from '@sinclair/typebox';

function byType<D extends ComponentDefinition<TSchema, unknown>>(
  definitions: readonly D[],
): ReadonlyMap<string, D> {
  return new Map(definitions.map((definition) => [definition.type, definition]));
}

/** Every source type this build of Sluice ships. */
export const SOURCES: readonly SourceDefinition[] = [
  fileSource,
  generateSource,
  kafkaSource,
  postgresCdcSourceDefinition,
  postgresPollSourceDefinition,
  crdbWebhookSource,
  crdbSinklessSource,
  crdbKafkaSource,
];
/** Every operator type this build of Sluice ships. */
export const OPERATORS: readonly OperatorDefinition[] = [
  filterOperator,
  transformOperator,
  validateOperator,
  dedupOperator,
  routeOperator,
  customOperator,
];
/** Every sink type this build of Sluice ships. */
export const SINKS: readonly SinkDefinition[] = [
  fileSink,
  stdoutSink,
  discardSink,
  postgresSinkDefinition,
  kafkaSink,
];
/** Every checkpoint store type (the `checkpoints:` section) this build of Sluice ships. */
export const CHECKPOINT_STORES: readonly CheckpointStoreDefinition[] = [postgresCheckpointStoreDefinition];

/** The component registry the CLI runs pipelines with: the composition root of Sluice. */
export function defaultRegistry(): ComponentRegistry {
  return {
    sources: byType(SOURCES),
    operators: byType(OPERATORS),
    sinks: byType(SINKS),
    checkpointStores: byType(CHECKPOINT_STORES),
    operatorWorker: OPERATOR_WORKER,
  };
}
