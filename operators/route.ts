import { type Static, Type } from '@sinclair/typebox';
import { type ConfigIssue, defineOperator } from '../runtime/component.js';
import { messageOf, SluiceError } from '../runtime/errors.js';
import { compilePredicate } from '../runtime/expression/compile-predicate.js';
import type { CompiledPredicate } from '../runtime/expression/compiled-predicate.js';
import type { BatchOperator } from '../runtime/operator.js';
import { BatchOutcome, type OnError } from './support/batch-outcome.js';
import { assertNoIssues } from './support/config-issues.js';
import { compileOrIssue } from './support/expression-issues.js';

/** Branch names downstream nodes can write after a dot (`from: by_region.eu`). */
const BRANCH_NAME = '^[A-Za-z_][A-Za-z0-9_-]*$';

const schema = Type.Object(
  {
    routes: Type.Array(
      Type.Object(
        {
          name: Type.String({
            pattern: BRANCH_NAME,
            description: 'Branch name; downstream nodes read it as `node.name`.',
          }),
          when: Type.String({ minLength: 1, description: 'CEL condition for records to take this branch.' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, description: 'Branches, tested in order.' },
    ),
    default: Type.Optional(
      Type.String({
        pattern: BRANCH_NAME,
        description: 'Branch for records matching no route. Omitted: such records are dropped (and counted).',
      }),
    ),
    match: Type.Optional(
      Type.Union([Type.Literal('first'), Type.Literal('all')], {
        default: 'first',
        description:
          'first: a record takes the first matching branch; all: every matching branch (the same record object).',
      }),
    ),
    on_error: Type.Optional(
      Type.Union([Type.Literal('dlq'), Type.Literal('fail')], {
        default: 'dlq',
        description:
          'A record a condition cannot be evaluated on goes to the DLQ (dlq) or stops the pipeline (fail).',
      }),
    ),
  },
  { additionalProperties: false },
);

/** Counts kept by a route node, for metrics. */
export interface RouteStats {
  /** Records that matched no route and were dropped (only when there is no `default`). */
  readonly unrouted: number;
  /** Records sent to each branch so far. */
  readonly branches: Readonly<Record<string, number>>;
}

/** A route node's operator: a batch operator that also reports its counts. */
export interface RouteOperator extends BatchOperator {
  stats(): RouteStats;
}

function compile(config: Static<typeof schema>, issues: ConfigIssue[]): (CompiledPredicate | undefined)[] {
  const names = new Set<string>();
  return config.routes.map((route, index) => {
    if (names.has(route.name))
      issues.push({ path: ['routes', index, 'name'], message: `route name ${route.name} is used twice` });
    names.add(route.name);
    return compileOrIssue(() => compilePredicate(route.when), ['routes', index, 'when'], issues);
  });
}

/**
 * `type: route`: sends each record to named branches by CEL conditions, tested in order. With `match: first` (the
 * default) a record takes the first branch whose condition is true; with `match: all`, every such branch. Records
 * matching none go to the `default` branch, or, without one, are dropped and counted (`stats().unrouted`). The
 * node's plain output is empty: downstream nodes read a branch, `from: by_region.eu`. A record a condition cannot
 * be evaluated on goes to the DLQ, or stops the pipeline (code `EXPRESSION_EVAL`) with `on_error: fail`.
 */
export const routeOperator = defineOperator({
  type: 'route',
  summary: 'Send records to named branches by CEL conditions, with an optional default branch.',
  schema,
  check(config) {
    const issues: ConfigIssue[] = [];
    compile(config, issues);
    return issues;
  },
  create(config, context): RouteOperator {
    const issues: ConfigIssue[] = [];
    const predicates = compile(config, issues);
    assertNoIssues(context.node, issues);
    const routes = config.routes.map((route, index) => ({ name: route.name, when: predicates[index]! }));
    const onError: OnError = config.on_error ?? 'dlq';
    const all = config.match === 'all';
    const counts: Record<string, number> = {};
    for (const name of [
      ...routes.map((route) => route.name),
      ...(config.default === undefined ? [] : [config.default]),
    ]) {
      counts[name] = 0;
    }
    let unrouted = 0;

    return {
      process(records) {
        const outcome = new BatchOutcome(context.node);
        for (const name of Object.keys(counts)) outcome.declareBranch(name);
        for (let index = 0; index < records.length && !outcome.failed; index++) {
          const record = records[index]!;
          const targets: string[] = [];
          let current = '';
          try {
            for (const route of routes) {
              current = route.name;
              if (!route.when.test(record)) continue;
              targets.push(route.name);
              if (!all) break;
            }
          } catch (error) {
            outcome.reject(onError, index, record, {
              code: error instanceof SluiceError ? error.code : 'EXPRESSION_EVAL',
              reason: `cannot evaluate the condition of route ${current}: ${messageOf(error)}`,
            });
            continue;
          }
          if (targets.length === 0 && config.default !== undefined) targets.push(config.default);
          if (targets.length === 0) unrouted++;
          for (const name of targets) {
            outcome.branch(name, record);
            counts[name]!++;
          }
        }
        return outcome.result();
      },
      stats: () => ({ unrouted, branches: { ...counts } }),
    };
  },
});
