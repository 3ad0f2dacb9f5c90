import type { OperatorSpec } from './pipeline-spec.js';

/**
 * Whether an operator node may run on worker threads. Lanes pin each record *key* to one thread, so state kept
 * per record key follows its records; but the built-in stateful operators key their state by fields of their own
 * choosing (`dedup.key`, a `validate` rule's `unique` field), which two lanes could both see. Those nodes stay on
 * the engine's thread, where one instance sees every record: a `dedup` node, and a `validate` node with a
 * `unique` rule. Every other node (filter, transform, route, validate without `unique`, custom) may move.
 */
export function mayRunInWorkers(spec: OperatorSpec): boolean {
  if (spec.type === 'dedup') return false;
  if (spec.type === 'validate') {
    const rules = spec.options.rules;
    return !(
      Array.isArray(rules) &&
      rules.some((rule: unknown) => rule !== null && typeof rule === 'object' && 'unique' in rule)
    );
  }
  return true;
}
