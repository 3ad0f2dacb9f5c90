import { type Static, Type } from '@sinclair/typebox';
import { type ConfigIssue, defineOperator } from '../runtime/component.js';
import { messageOf, PipelineFailure } from '../runtime/errors.js';
import { compilePredicate } from '../runtime/expression/compile-predicate.js';
import type { CompiledPredicate } from '../runtime/expression/compiled-predicate.js';
import type { BatchOperator } from '../runtime/operator.js';
import type { ChangeRecord, Value } from '../runtime/record.js';
import { BatchOutcome, recordPlace } from './support/batch-outcome.js';
import { assertNoIssues, fieldIssues } from './support/config-issues.js';
import { compileOrIssue } from './support/expression-issues.js';
import { type FieldCheck, fieldCheckOf } from './support/field-check.js';
import { FieldPath } from './support/field-path.js';
import { loadUserFunction } from './support/load-user-function.js';
import { rowOf } from './support/row-of.js';
import {
  FIELD_CHECKS,
  RULE_CHECKS,
  type ValidationRule,
  validationRuleSchema,
} from './support/validation-rule.js';

/** Shortest time between two warnings about the same rule, in milliseconds. */
const WARN_INTERVAL_MS = 10_000;

const schema = Type.Object(
  {
    rules: Type.Array(validationRuleSchema, {
      minItems: 1,
      description: 'Data-quality rules, checked in order.',
    }),
    threshold: Type.Optional(
      Type.Object(
        {
          max_failure_ratio: Type.Number({
            minimum: 0,
            maximum: 1,
            description:
              'Stop the pipeline when more than this share of the last `window` checked records failed a rule.',
          }),
          window: Type.Optional(
            Type.Integer({ minimum: 1, default: 1000, description: 'Records the ratio is taken over.' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    apply_to_deletes: Type.Optional(
      Type.Boolean({
        default: false,
        description: 'Check deletes too (their before image, or their key). Default: deletes pass unchecked.',
      }),
    ),
  },
  { additionalProperties: false },
);

type ValidateConfig = Static<typeof schema>;

/**
 * A rule function from the user's module. It receives the rule's field value (the whole row when the rule names no
 * field) and the record, and returns `true` (passes), `false` (fails) or a string (fails, with that reason). It must
 * be synchronous.
 */
export type RuleFunction = (value: Value | undefined, record: ChangeRecord) => boolean | string;

/** A validate node's operator: a batch operator that also reports failures per rule, for metrics. */
export interface ValidateOperator extends BatchOperator {
  /** Failures so far per rule name, whatever the action. */
  ruleFailures(): Readonly<Record<string, number>>;
}

/** One rule, ready to run. */
interface RunnableRule {
  readonly name: string;
  readonly field: FieldPath | undefined;
  readonly action: 'dlq' | 'warn' | 'fail';
  /** The failure reason, or null when the record passes; `error` marks a rule that could not be evaluated. */
  readonly run: (value: Value | undefined, record: ChangeRecord) => { reason: string; error: boolean } | null;
}

function ruleIssues(rule: ValidationRule, index: number, names: Set<string>): ConfigIssue[] {
  const at = (...path: (string | number)[]) => ['rules', index, ...path];
  const issues: ConfigIssue[] = [];
  if (names.has(rule.name))
    issues.push({ path: at('name'), message: `rule name ${rule.name} is used twice` });
  names.add(rule.name);
  const checks = RULE_CHECKS.filter((check) => rule[check] !== undefined);
  if (checks.length !== 1) {
    const got = checks.length === 0 ? 'none' : checks.join(', ');
    issues.push({
      path: at(),
      message: `expected exactly one check (${RULE_CHECKS.join(', ')}), got ${got}`,
    });
  }
  if (rule.field !== undefined) issues.push(...fieldIssues(rule.field, at('field')));
  else if (checks.some((check) => (FIELD_CHECKS as readonly string[]).includes(check))) {
    issues.push({ path: at('field'), message: `a ${checks[0]} rule needs the field it checks` });
  }
  if (rule.regex !== undefined) {
    try {
      new RegExp(rule.regex, 'u');
    } catch (error) {
      issues.push({ path: at('regex'), message: messageOf(error) });
    }
  }
  const { range, length } = rule;
  if (range !== undefined && range.min === undefined && range.max === undefined) {
    issues.push({ path: at('range'), message: 'expected min, max or both' });
  }
  if (range?.min !== undefined && range.max !== undefined && Number(range.min) > Number(range.max)) {
    issues.push({
      path: at('range'),
      message: `expected min <= max, got min ${range.min} and max ${range.max}`,
    });
  }
  if (length !== undefined && length.min === undefined && length.max === undefined) {
    issues.push({ path: at('length'), message: 'expected min, max or both' });
  }
  if (length?.min !== undefined && length.max !== undefined && length.min > length.max) {
    issues.push({
      path: at('length'),
      message: `expected min <= max, got min ${length.min} and max ${length.max}`,
    });
  }
  return issues;
}

/** Checks the rules and compiles their expressions (in `predicates`, by rule index). */
function issuesOf(config: ValidateConfig, predicates: Map<number, CompiledPredicate>): ConfigIssue[] {
  const names = new Set<string>();
  const issues = config.rules.flatMap((rule, index) => ruleIssues(rule, index, names));
  config.rules.forEach((rule, index) => {
    if (rule.expr === undefined) return;
    const predicate = compileOrIssue(() => compilePredicate(rule.expr!), ['rules', index, 'expr'], issues);
    if (predicate !== undefined) predicates.set(index, predicate);
  });
  return issues;
}

function expressionRule(predicate: CompiledPredicate): RunnableRule['run'] {
  return (_value, record) => {
    try {
      return predicate.test(record)
        ? null
        : { reason: `expected ${predicate.text} to be true, got false`, error: false };
    } catch (error) {
      return { reason: `cannot evaluate ${predicate.text}: ${messageOf(error)}`, error: true };
    }
  };
}

function functionRule(check: RuleFunction, name: string): RunnableRule['run'] {
  return (value, record) => {
    let verdict: unknown;
    try {
      verdict = check(value, record);
    } catch (error) {
      return { reason: `rule function ${name} threw: ${messageOf(error)}`, error: true };
    }
    if (verdict === true) return null;
    if (verdict === false) return { reason: `rule function ${name} returned false`, error: false };
    if (typeof verdict === 'string') return { reason: verdict, error: false };
    const got =
      verdict instanceof Promise ? 'a Promise (rule functions must be synchronous)' : typeof verdict;
    return { reason: `rule function ${name} returned ${got}; expected true, false or a reason`, error: true };
  };
}

function fieldRule(check: FieldCheck): RunnableRule['run'] {
  return (value) => {
    const reason = check(value);
    return reason === null ? null : { reason, error: false };
  };
}

/** Counts failures of warn rules and logs them at most once per rule per {@link WARN_INTERVAL_MS}. */
class WarnLog {
  private readonly pending = new Map<string, { count: number; lastLoggedMs: number; reason: string }>();

  /** `rules` in config order: logs come in that order. */
  constructor(
    rules: readonly string[],
    private readonly log: (rule: string, count: number, reason: string) => void,
  ) {
    for (const rule of rules)
      this.pending.set(rule, { count: 0, lastLoggedMs: Number.NEGATIVE_INFINITY, reason: '' });
  }

  failed(rule: string, reason: string): void {
    const entry = this.pending.get(rule)!;
    entry.count++;
    entry.reason = reason;
  }

  /** Logs every rule with unlogged failures whose interval has passed (all of them when `force`). */
  flush(force: boolean): void {
    const now = Date.now();
    for (const [rule, entry] of this.pending) {
      if (entry.count === 0 || (!force && now - entry.lastLoggedMs < WARN_INTERVAL_MS)) continue;
      this.log(rule, entry.count, entry.reason);
      entry.count = 0;
      entry.lastLoggedMs = now;
    }
  }
}

/** The last `size` checked records, failed or not, as a ring, with the number that failed. */
class FailureWindow {
  private readonly ring: Uint8Array;
  private next = 0;
  private failures = 0;

  constructor(size: number) {
    this.ring = new Uint8Array(size);
  }

  /** The failures in the window if a record with this outcome were added now. */
  peek(failed: boolean): number {
    return this.failures - this.ring[this.next]! + (failed ? 1 : 0);
  }

  add(failed: boolean): void {
    this.failures = this.peek(failed);
    this.ring[this.next] = failed ? 1 : 0;
    this.next = (this.next + 1) % this.ring.length;
  }
}

/**
 * `type: validate`: checks each record against data-quality rules, in order. A rule holds one check: on a field
 * (`not_null`, `regex`, `range`, `in`, `type`, `length`, `unique`; only `not_null` fails on null or absent), a CEL
 * condition (`expr`) or a function from the user's module (`function`, see {@link RuleFunction}).
 *
 * On failure the rule's action applies, and checking of that record stops at the first `dlq` or `fail`:
 * - `dlq` (default): the record goes to the DLQ with the rule, field, value and reason;
 * - `warn`: the record passes; failures are counted per rule (`ruleFailures()`) and logged at most once per rule
 *   per 10 s with the count since the last log (the rest at `close`);
 * - `fail`: the pipeline stops (`PipelineFailure`, code `RULE_FAILED`) naming the rule, the field, the value and
 *   where the record came from; records before it pass, it and the rest are not handled.
 * An `expr` that cannot be evaluated or a rule function that throws (or returns something other than true, false
 * or a reason) is a failure of its rule whose record goes to the DLQ even under `warn` (it was not checked), and
 * stops the pipeline under `fail`.
 *
 * Deletes (no `after`) pass unchecked unless `apply_to_deletes: true`, which checks their `before` image, or their
 * key when the source sends none. With `threshold`, the pipeline stops (code `FAILURE_THRESHOLD`) on the record that
 * makes more than `max_failure_ratio` of the last `window` checked records fail some rule (any action); the ratio is
 * always taken over the full window, so the first records cannot trip it early.
 */
export const validateOperator = defineOperator({
  type: 'validate',
  summary: 'Check records against data-quality rules: dead-letter, warn about or stop on failures.',
  schema,
  async check(config, context) {
    const issues = issuesOf(config, new Map());
    for (const [index, rule] of config.rules.entries()) {
      if (rule.function === undefined) continue;
      try {
        await loadUserFunction(context.configDir, rule.function.module, rule.function.export);
      } catch (error) {
        issues.push({ path: ['rules', index, 'function'], message: messageOf(error) });
      }
    }
    return issues;
  },
  async create(config, context): Promise<ValidateOperator> {
    const predicates = new Map<number, CompiledPredicate>();
    assertNoIssues(context.node, issuesOf(config, predicates));
    const rules: RunnableRule[] = [];
    for (const [index, rule] of config.rules.entries()) {
      let run: RunnableRule['run'];
      const predicate = predicates.get(index);
      if (predicate !== undefined) run = expressionRule(predicate);
      else if (rule.function !== undefined) {
        const loaded = await loadUserFunction<RuleFunction>(
          context.configDir,
          rule.function.module,
          rule.function.export,
        );
        run = functionRule(loaded, rule.function.export);
      } else run = fieldRule(fieldCheckOf(rule)!);
      rules.push({
        name: rule.name,
        field: rule.field === undefined ? undefined : new FieldPath(rule.field),
        action: rule.action ?? 'dlq',
        run,
      });
    }
    const applyToDeletes = config.apply_to_deletes ?? false;
    const threshold = config.threshold;
    const window = threshold === undefined ? undefined : new FailureWindow(threshold.window ?? 1000);
    const allowedFailures =
      threshold === undefined ? Infinity : threshold.max_failure_ratio * (threshold.window ?? 1000);
    const failures: Record<string, number> = Object.fromEntries(rules.map((rule) => [rule.name, 0]));
    const warnings = new WarnLog(Object.keys(failures), (rule, count, reason) =>
      context.logger.warn(
        { rule, failures: count, total: failures[rule] },
        `rule ${rule} failed ${count} time(s) (action warn, records passed); latest: ${reason}`,
      ),
    );

    return {
      process(records) {
        const outcome = new BatchOutcome(context.node);
        for (let index = 0; index < records.length; index++) {
          const record = records[index]!;
          if (record.after === null && !applyToDeletes) {
            outcome.keep(record);
            continue;
          }
          const row = rowOf(record);
          let failedAny = false;
          let stop:
            { rule: RunnableRule; reason: string; value: Value | undefined; fail: boolean } | undefined;
          for (const rule of rules) {
            const value = rule.field === undefined ? (row ?? undefined) : rule.field.get(row);
            const verdict = rule.run(value, record);
            if (verdict === null) continue;
            failedAny = true;
            failures[rule.name]!++;
            if (rule.action === 'warn' && !verdict.error) {
              warnings.failed(rule.name, verdict.reason);
              continue;
            }
            stop = { rule, reason: verdict.reason, value, fail: rule.action === 'fail' };
            break;
          }
          if (window !== undefined && window.peek(failedAny) > allowedFailures) {
            const message =
              `node ${context.node}: more than ${Math.round(threshold!.max_failure_ratio * 10_000) / 100}% of the last ${threshold!.window ?? 1000} ` +
              `checked records failed a rule (${window.peek(failedAny)} failed), at the ${recordPlace(record)}`;
            outcome.fail(new PipelineFailure('FAILURE_THRESHOLD', message), index);
            break;
          }
          window?.add(failedAny);
          if (stop === undefined) {
            outcome.keep(record);
            continue;
          }
          const field = stop.rule.field?.text;
          if (stop.fail) {
            const on = field === undefined ? '' : ` on field ${field}`;
            const message = `node ${context.node}: rule ${stop.rule.name} failed${on}: ${stop.reason} (${recordPlace(record)})`;
            outcome.fail(new PipelineFailure('RULE_FAILED', message), index);
            break;
          }
          outcome.deadLetter(record, {
            rule: stop.rule.name,
            reason: stop.reason,
            ...(field === undefined ? {} : { field }),
            ...(stop.value === undefined || field === undefined ? {} : { value: stop.value }),
          });
        }
        warnings.flush(false);
        return outcome.result();
      },
      ruleFailures: () => ({ ...failures }),
      async close() {
        warnings.flush(true);
      },
    };
  },
});
