import type { ErrorObject } from 'ajv';
import type { ConfigPath } from '../component.js';
import { messageOf } from '../errors.js';
import { describeValue } from './describe-value.js';
import { instancePath } from './instance-path.js';
import { didYouMean } from './did-you-mean.js';
import { parseDuration } from './duration.js';
import { PIPELINE_SCHEMA } from './pipeline-schema.js';
import { parseSize } from './size.js';

/** A schema violation, at a path of the validated value: on its key (unknown, missing) or on its value. */
export interface SchemaProblem {
  readonly path: ConfigPath;
  readonly at: 'key' | 'value';
  readonly message: string;
}

type JsonSchema = Record<string, unknown>;

/** How JSON types are named in messages. */
const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: 'text',
  integer: 'an integer',
  number: 'a number',
  boolean: '`true` or `false`',
  object: 'a mapping',
  array: 'a list',
  null: 'an empty value',
};

const UNIONS = new Set(['anyOf', 'oneOf']);

/**
 * Turns ajv errors (from a validator compiled with `allErrors` and `verbose`) into one specific problem each:
 * for `anyOf`/`oneOf`, the errors of the alternative whose type matched, or one "expected X or Y" when none did.
 * `data` is the validated value; `extraKeys` are keys allowed beside the schema's (`type`, `from`), offered as
 * suggestions for unknown keys.
 */
export function schemaProblems(
  errors: readonly ErrorObject[],
  data: unknown,
  extraKeys: readonly string[] = [],
): SchemaProblem[] {
  const kept = pickUnionBranches(errors);
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const error of kept) {
    const problem = describe(error, data, extraKeys);
    const key = JSON.stringify([problem.path, problem.at, problem.message]);
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

function pickUnionBranches(errors: readonly ErrorObject[]): ErrorObject[] {
  const dropped = new Set<ErrorObject>();
  const unions = errors
    .filter((error) => UNIONS.has(error.keyword))
    .sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const union of unions) {
    if (dropped.has(union)) continue;
    const branches = new Map<string, ErrorObject[]>();
    for (const error of errors) {
      if (error === union || !error.schemaPath.startsWith(`${union.schemaPath}/`)) continue;
      const branch = error.schemaPath.slice(union.schemaPath.length + 1).split('/')[0]!;
      branches.set(branch, [...(branches.get(branch) ?? []), error]);
    }
    const shapeMatched = [...branches.values()].filter((branchErrors) =>
      branchErrors.every(
        (error) =>
          !(error.instancePath === union.instancePath && ['type', 'const', 'enum'].includes(error.keyword)),
      ),
    );
    const best = shapeMatched.sort((a, b) => a.length - b.length)[0];
    for (const branchErrors of branches.values()) {
      if (branchErrors === best) continue;
      for (const error of branchErrors) dropped.add(error);
    }
    if (best !== undefined) dropped.add(union);
  }
  return errors.filter((error) => !dropped.has(error));
}

function describe(error: ErrorObject, data: unknown, extraKeys: readonly string[]): SchemaProblem {
  const path = instancePath(error.instancePath, data);
  const parent = (error.parentSchema ?? {}) as JsonSchema;
  const got = describeValue(error.data);
  const params = error.params as Record<string, unknown>;
  const unit = parent[PIPELINE_SCHEMA.unitKeyword];
  if (unit === 'duration' || unit === 'size') {
    return { path, at: 'value', message: unitMessage(unit, error.data) };
  }
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = String(params.additionalProperty);
      const known = [...Object.keys(parent.properties ?? {}), ...extraKeys];
      const hint = didYouMean(key, known);
      const list =
        hint === '' && known.length > 0 && known.length <= 12 ? `; expected one of ${quoteAll(known)}` : '';
      return { path: [...path, key], at: 'key', message: `unknown key \`${key}\`${hint}${list}` };
    }
    case 'required':
      return { path, at: 'key', message: `missing required field \`${String(params.missingProperty)}\`` };
    case 'type':
      return { path, at: 'value', message: `expected ${typeName(params.type)}, got ${got}` };
    case 'enum': {
      const allowed = (params.allowedValues ?? []) as unknown[];
      const hint = typeof error.data === 'string' ? didYouMean(error.data, allowed.map(String)) : '';
      return { path, at: 'value', message: `expected one of ${quoteAll(allowed)}, got ${got}${hint}` };
    }
    case 'const':
      return { path, at: 'value', message: `expected ${quoteAll([params.allowedValue])}, got ${got}` };
    case 'pattern':
      return {
        path,
        at: 'value',
        message: `expected text matching \`${String(params.pattern)}\`, got ${got}`,
      };
    case 'format':
      return { path, at: 'value', message: `expected ${String(params.format)} text, got ${got}` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return {
        path,
        at: 'value',
        message: `expected a number ${String(params.comparison)} ${String(params.limit)}, got ${got}`,
      };
    case 'minLength':
      return {
        path,
        at: 'value',
        message: `expected text of at least ${String(params.limit)} characters, got ${got}`,
      };
    case 'maxLength':
      return {
        path,
        at: 'value',
        message: `expected text of at most ${String(params.limit)} characters, got ${got}`,
      };
    case 'minItems':
    case 'minProperties':
      return {
        path,
        at: 'value',
        message: `expected at least ${String(params.limit)} ${entries(error)}, got ${count(error.data)}`,
      };
    case 'maxItems':
    case 'maxProperties':
      return {
        path,
        at: 'value',
        message: `expected at most ${String(params.limit)} ${entries(error)}, got ${count(error.data)}`,
      };
    case 'false schema':
      return { path, at: 'key', message: 'is not allowed here' };
    case 'anyOf':
    case 'oneOf': {
      const alternatives = ((error.schema ?? []) as JsonSchema[]).map(describeSchema);
      if (error.keyword === 'oneOf' && params.passingSchemas) {
        return { path, at: 'value', message: `matches more than one of: ${alternatives.join('; ')}` };
      }
      const constants = ((error.schema ?? []) as JsonSchema[])
        .filter((schema) => 'const' in schema)
        .map((schema) => String(schema.const));
      const hint = typeof error.data === 'string' ? didYouMean(error.data, constants) : '';
      return { path, at: 'value', message: `expected ${alternatives.join(' or ')}, got ${got}${hint}` };
    }
    default:
      return { path, at: 'value', message: `${error.message ?? 'is invalid'}, got ${got}` };
  }
}

function unitMessage(unit: 'duration' | 'size', value: unknown): string {
  try {
    if (unit === 'duration') parseDuration(value);
    else parseSize(value);
    return `expected a ${unit} of at least 1, got ${describeValue(value)}`;
  } catch (error) {
    return messageOf(error);
  }
}

function describeSchema(schema: JsonSchema): string {
  if ('const' in schema) return quoteAll([schema.const]);
  if (Array.isArray(schema.enum)) return `one of ${quoteAll(schema.enum)}`;
  if (schema.type === 'array' && typeof schema.items === 'object' && schema.items !== null) {
    return `a list of ${plural(describeSchema(schema.items as JsonSchema))}`;
  }
  return schema.type === undefined ? 'a value of another shape' : typeName(schema.type);
}

function plural(name: string): string {
  return name === 'text' ? 'texts' : name.replace(/^an? /, '').concat('s');
}

function typeName(type: unknown): string {
  const types = Array.isArray(type) ? type : String(type).split(',');
  return types.map((name) => TYPE_NAMES[String(name)] ?? String(name)).join(' or ');
}

function quoteAll(values: readonly unknown[]): string {
  return values.map((value) => `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``).join(', ');
}

function entries(error: ErrorObject): string {
  const one = (error.params as { limit?: number }).limit === 1;
  if (error.keyword.endsWith('Items')) return one ? 'item' : 'items';
  return one ? 'entry' : 'entries';
}

function count(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  return value !== null && typeof value === 'object' ? Object.keys(value).length : 0;
}
