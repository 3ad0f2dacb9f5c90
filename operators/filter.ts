import { type Static, Type } from '@sinclair/typebox';
import { type ConfigIssue, defineOperator } from '../runtime/component.js';
import { messageOf, SluiceError } from '../runtime/errors.js';
import { compilePredicate } from '../runtime/expression/compile-predicate.js';
import type { CompiledPredicate } from '../runtime/expression/compiled-predicate.js';
import { BatchOutcome, type OnError } from './support/batch-outcome.js';
import { assertNoIssues } from './support/config-issues.js';
import { compileOrIssue } from './support/expression-issues.js';

const schema = Type.Object(
  {
    where: Type.String({
      minLength: 1,
      description:
        'CEL condition a record must meet to pass, e.g. after.status == "paid". Null counts as false.',
    }),
    on_error: Type.Optional(
      Type.Union([Type.Literal('dlq'), Type.Literal('fail')], {
        default: 'dlq',
        description:
          'A record the condition cannot be evaluated on goes to the DLQ (dlq) or stops the pipeline (fail).',
      }),
    ),
  },
  { additionalProperties: false },
);

function compile(config: Static<typeof schema>, issues: ConfigIssue[]): CompiledPredicate | undefined {
  return compileOrIssue(() => compilePredicate(config.where), ['where'], issues);
}

/**
 * `type: filter`: passes the records for which `where` is true and drops the rest (dropped records count as
 * handled). A record on which the condition cannot be evaluated (a function given the wrong type) goes to the DLQ
 * with the expression's error, or stops the pipeline (code `EXPRESSION_EVAL`) with `on_error: fail`. Deletes are
 * tested like any record: `after` is null for them, so `after.status == "paid"` is false and drops them; write
 * `op == "delete" || ...` to keep them.
 */
export const filterOperator = defineOperator({
  type: 'filter',
  summary: 'Keep only the records for which a CEL condition is true.',
  schema,
  check(config) {
    const issues: ConfigIssue[] = [];
    compile(config, issues);
    return issues;
  },
  create(config, context) {
    const issues: ConfigIssue[] = [];
    const predicate = compile(config, issues);
    assertNoIssues(context.node, issues);
    const where = predicate!;
    const onError: OnError = config.on_error ?? 'dlq';
    return {
      process(records) {
        const outcome = new BatchOutcome(context.node);
        for (let index = 0; index < records.length && !outcome.failed; index++) {
          const record = records[index]!;
          try {
            if (where.test(record)) outcome.keep(record);
          } catch (error) {
            outcome.reject(onError, index, record, {
              code: error instanceof SluiceError ? error.code : 'EXPRESSION_EVAL',
              reason: `cannot evaluate where (${where.text}): ${messageOf(error)}`,
            });
          }
        }
        return outcome.result();
      },
    };
  },
});
