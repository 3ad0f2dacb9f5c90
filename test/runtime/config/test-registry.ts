import { Type } from '@sinclair/typebox';
import {
  defineOperator,
  defineSink,
  defineSource,
  type ComponentRegistry,
  type ConfigIssue,
} from '../../../runtime/component.js';

const notBuilt = (): never => {
  throw new Error('the config tests validate components and never build them');
};

/** Record parts a `where` expression may name. */
const PARTS = new Set(['before', 'after', 'op']);

/**
 * Components small enough to read in a test: a file source, a Postgres-like source with a URL, a filter whose
 * `check()` flags unknown record parts in its expression with their offset, a router, a file sink and a
 * Kafka-like sink with SASL settings.
 */
export const testRegistry: ComponentRegistry = {
  sources: new Map([
    [
      'file',
      defineSource({
        type: 'file',
        summary: 'Reads records from a JSON-lines file.',
        schema: Type.Object({
          path: Type.String({ minLength: 1, description: 'The file to read.' }),
          format: Type.Optional(
            Type.Union([Type.Literal('jsonl'), Type.Literal('csv')], { default: 'jsonl' }),
          ),
          poll: Type.Optional(Type.Boolean({ default: false })),
        }),
        create: notBuilt,
      }),
    ],
    [
      'postgres',
      defineSource({
        type: 'postgres',
        summary: 'Streams changes from Postgres logical replication.',
        schema: Type.Object({
          url: Type.String(),
          port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
          password: Type.Optional(Type.String()),
          tables: Type.Optional(Type.Array(Type.String(), { minItems: 1 })),
        }),
        create: notBuilt,
      }),
    ],
  ]),
  operators: new Map([
    [
      'filter',
      defineOperator({
        type: 'filter',
        summary: 'Keeps the records an expression accepts.',
        schema: Type.Object({ where: Type.String({ description: 'The expression.' }) }),
        check(config) {
          const issues: ConfigIssue[] = [];
          for (const match of config.where.matchAll(/([A-Za-z_]+)\./g)) {
            if (!PARTS.has(match[1]!)) {
              issues.push({
                path: ['where'],
                offset: match.index,
                message: `unknown record part \`${match[1]}\``,
              });
            }
          }
          return issues;
        },
        create: notBuilt,
      }),
    ],
    [
      'router',
      defineOperator({
        type: 'router',
        summary: 'Sends records to named branches.',
        schema: Type.Object({ routes: Type.Record(Type.String(), Type.String()) }),
        create: notBuilt,
      }),
    ],
  ]),
  sinks: new Map([
    [
      'file',
      defineSink({
        type: 'file',
        summary: 'Appends records to a JSON-lines file.',
        schema: Type.Object({
          path: Type.String({ minLength: 1 }),
          mode: Type.Optional(
            Type.Union([Type.Literal('append'), Type.Literal('truncate')], { default: 'append' }),
          ),
        }),
        create: notBuilt,
      }),
    ],
    [
      'kafka',
      defineSink({
        type: 'kafka',
        summary: 'Produces records to a Kafka topic.',
        schema: Type.Object({
          brokers: Type.Array(Type.String(), { minItems: 1 }),
          topic: Type.String(),
          sasl: Type.Optional(
            Type.Object({
              mechanism: Type.Union([Type.Literal('plain'), Type.Literal('scram-sha-256')]),
              username: Type.String(),
              password: Type.String(),
            }),
          ),
        }),
        create: notBuilt,
      }),
    ],
  ]),
};
