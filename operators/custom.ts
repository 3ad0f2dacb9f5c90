import { Type } from '@sinclair/typebox';
import type { Logger } from 'pino';
import { defineOperator } from '../runtime/component.js';
import { PipelineFailure, SluiceError, messageOf } from '../runtime/errors.js';
import type { OperatorResult } from '../runtime/operator.js';
import { type ChangeRecord, OPERATIONS } from '../runtime/record.js';
import { loadUserFunction } from './support/load-user-function.js';

const schema = Type.Object(
  {
    module: Type.String({
      minLength: 1,
      description:
        'Path of the module, relative to the config file: compiled .js/.mjs (or .ts when run under tsx).',
    }),
    export: Type.String({ minLength: 1, description: 'Name of the exported function.' }),
    options: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        default: {},
        description: 'Free-form settings passed to the function.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** What a custom operator function receives besides the batch. */
export interface CustomOperatorContext {
  /** The pipeline's name. */
  readonly pipeline: string;
  /** The node's name. */
  readonly node: string;
  /** A logger bound to the pipeline and node. */
  readonly logger: Logger;
  /** The node's `options` from the config. */
  readonly options: Readonly<Record<string, unknown>>;
}

/**
 * The function a custom operator module exports: given a batch (which it may change) and its context, it returns
 * the records to pass on, in order, or a full `OperatorResult` (branches, dead letters, a failure); either may be a
 * promise. Records it leaves out are filtered out.
 */
export type CustomOperatorFunction = (
  records: ChangeRecord[],
  context: CustomOperatorContext,
) => ChangeRecord[] | OperatorResult | Promise<ChangeRecord[] | OperatorResult>;

function isRecordList(value: unknown): value is ChangeRecord[] {
  return (
    Array.isArray(value) &&
    value.every((item: unknown) => {
      if (item === null || typeof item !== 'object') return false;
      const candidate = item as Partial<ChangeRecord>;
      return (
        OPERATIONS.includes(candidate.op!) &&
        typeof candidate.source === 'object' &&
        candidate.source !== null
      );
    })
  );
}

function describeOutput(value: unknown): string {
  if (Array.isArray(value)) return 'an array holding something other than change records';
  if (value === null) return 'null';
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).join(', ') || '(none)'}`;
  return `a ${typeof value}`;
}

/**
 * `type: custom`: runs a function from the user's module on each batch (see {@link CustomOperatorFunction}). The
 * module is loaded when the node is created. When the function throws, rejects or returns something that is not
 * records or an `OperatorResult`, the pipeline stops with a `PipelineFailure` (code `OPERATOR_FAILED`) naming the
 * node, the module and the export, and no record of the batch counts as handled: a batch-level function cannot
 * say which record was at fault, so nothing is dead-lettered on its behalf.
 */
export const customOperator = defineOperator({
  type: 'custom',
  summary: "Run a function exported by the user's own module on each batch.",
  schema,
  async check(config, context) {
    try {
      await loadUserFunction(context.configDir, config.module, config.export);
      return [];
    } catch (error) {
      return [
        {
          path: [
            error instanceof SluiceError && error.code === 'MODULE_EXPORT_INVALID' ? 'export' : 'module',
          ],
          message: messageOf(error),
        },
      ];
    }
  },
  async create(config, context) {
    const run = await loadUserFunction<CustomOperatorFunction>(
      context.configDir,
      config.module,
      config.export,
    );
    const userContext: CustomOperatorContext = {
      pipeline: context.pipeline,
      node: context.node,
      logger: context.logger,
      options: config.options ?? {},
    };
    const what = `custom operator ${context.node} (${config.export} from ${config.module})`;
    const failed = (message: string, cause?: unknown): OperatorResult => ({
      records: [],
      failure: { error: new PipelineFailure('OPERATOR_FAILED', `${what} ${message}`, { cause }), handled: 0 },
    });
    const settle = (output: unknown): OperatorResult => {
      if (isRecordList(output)) return { records: output };
      if (
        output !== null &&
        typeof output === 'object' &&
        isRecordList((output as Partial<OperatorResult>).records)
      ) {
        return output as OperatorResult;
      }
      return failed(
        `returned ${describeOutput(output)}; expected an array of change records or an OperatorResult`,
      );
    };
    return {
      process(records) {
        let output: unknown;
        try {
          output = run(records, userContext);
        } catch (error) {
          return failed(`threw: ${messageOf(error)}`, error);
        }
        if (output instanceof Promise) {
          return output.then(settle, (error: unknown) => failed(`rejected: ${messageOf(error)}`, error));
        }
        return settle(output);
      },
    };
  },
});
