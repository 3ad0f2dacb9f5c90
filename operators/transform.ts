import { type Static, Type } from '@sinclair/typebox';
import { type ConfigIssue, defineOperator } from '../runtime/component.js';
import { messageOf, SluiceError } from '../runtime/errors.js';
import { compileExpression } from '../runtime/expression/compile-expression.js';
import type { CompiledExpression } from '../runtime/expression/compiled-expression.js';
import type { ChangeRecord, Row, Value } from '../runtime/record.js';
import { BatchOutcome, type OnError } from './support/batch-outcome.js';
import { CAST_TYPES, type CastType, castValue } from './support/cast-value.js';
import { assertNoIssues, fieldIssues } from './support/config-issues.js';
import { copyRow } from './support/copy-row.js';
import { compileOrIssue } from './support/expression-issues.js';
import { FieldExclusion } from './support/field-exclusion.js';
import { FieldPath } from './support/field-path.js';
import { MASK_HASHES, type MaskSpec, maskValue } from './support/mask-value.js';

const maskSchema = Type.Union([
  Type.Literal('redact', { description: 'Replace the value with ***.' }),
  Type.Object(
    {
      hash: Type.Union(
        MASK_HASHES.map((name) => Type.Literal(name)),
        { description: 'Hash algorithm; the hex digest replaces the value.' },
      ),
      salt: Type.Optional(
        Type.String({ description: 'Secret key: the digest becomes an HMAC (use ${ENV_VAR}).' }),
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    { truncate: Type.Integer({ minimum: 0, description: 'Keep the first N characters.' }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      keep_last: Type.Integer({
        minimum: 0,
        description: 'Keep the last N characters; earlier ones become *.',
      }),
    },
    { additionalProperties: false },
  ),
]);

const schema = Type.Object(
  {
    rename: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
        description:
          'Old field name to new field name. Applied first; every other option uses the new names.',
      }),
    ),
    cast: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.Union(CAST_TYPES.map((name) => Type.Literal(name))), {
        description: `Field to type (${CAST_TYPES.join(', ')}). Applied after rename.`,
      }),
    ),
    set: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), Type.String({ minLength: 1 }), {
        description:
          'Field to expression (CEL), e.g. total_cents: int(after.amount * 100). Evaluated after rename and cast, ' +
          'all against the same record (one set field does not see another).',
      }),
    ),
    drop: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { description: 'Fields to remove. Applied after set.' }),
    ),
    mask: Type.Optional(
      Type.Record(Type.String({ minLength: 1 }), maskSchema, {
        description:
          'Field to masking: redact, { hash: sha256, salt }, { truncate: N } or { keep_last: N }. Applied last.',
      }),
    ),
    on_error: Type.Optional(
      Type.Union([Type.Literal('dlq'), Type.Literal('fail')], {
        default: 'dlq',
        description:
          'A record whose cast or expression fails goes to the DLQ (dlq) or stops the pipeline (fail).',
      }),
    ),
  },
  { additionalProperties: false },
);

type TransformConfig = Static<typeof schema>;

/** A cast or expression that failed on one field of one record. */
class FieldFailure extends Error {
  constructor(
    readonly code: string,
    readonly field: string,
    readonly value: Value | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** Sets `row[field]` as an own data property, even for `__proto__` (which plain assignment would treat as the prototype). */
function copyField(row: Row, field: string, value: Value): void {
  if (field === '__proto__')
    Object.defineProperty(row, field, { value, enumerable: true, writable: true, configurable: true });
  else row[field] = value;
}

function issuesOf(config: TransformConfig, compiled: Map<string, CompiledExpression>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const fields = (option: 'rename' | 'cast' | 'set' | 'mask') =>
    Object.keys(config[option] ?? {}).forEach((field) => issues.push(...fieldIssues(field, [option, field])));
  fields('rename');
  fields('cast');
  fields('set');
  fields('mask');
  const targets = new Map<string, string>();
  for (const [from, to] of Object.entries(config.rename ?? {})) {
    issues.push(...fieldIssues(to, ['rename', from]));
    const other = targets.get(to);
    if (other !== undefined)
      issues.push({ path: ['rename', from], message: `${from} and ${other} are both renamed to ${to}` });
    targets.set(to, from);
  }
  (config.drop ?? []).forEach((field, index) => issues.push(...fieldIssues(field, ['drop', index])));
  for (const [field, text] of Object.entries(config.set ?? {})) {
    const expression = compileOrIssue(() => compileExpression(text), ['set', field], issues);
    if (expression !== undefined) compiled.set(field, expression);
  }
  return issues;
}

/**
 * `type: transform`: reshapes each record's `after` and, when present, `before` image, in this order:
 * `rename` → `cast` → `set` → `drop` → `mask` (every option names fields as they are after `rename`; masking is
 * last so nothing after it sees the clear value). `set` expressions all see the record as it is after rename and
 * cast; for the `before` image they are evaluated with `after` bound to that image, so both images get the same
 * derived fields. `rename`, `cast` and `mask` also apply to primary-key columns of the same name, so the key keeps
 * matching the row; `drop` leaves the key alone. Records are copied, never changed in place.
 *
 * A cast or expression that fails on a record sends it to the DLQ naming the field and the value (`on_error: dlq`,
 * the default) or stops the pipeline (`on_error: fail`, code `CAST_FAILED` or `EXPRESSION_EVAL`).
 */
export const transformOperator = defineOperator({
  type: 'transform',
  summary: 'Rename, cast, compute (CEL), drop and mask fields of each record.',
  schema,
  check: (config) => issuesOf(config, new Map()),
  create(config, context) {
    const compiled = new Map<string, CompiledExpression>();
    assertNoIssues(context.node, issuesOf(config, compiled));
    const onError: OnError = config.on_error ?? 'dlq';
    const renames = Object.entries(config.rename ?? {}).map(
      ([from, to]) => [new FieldPath(from), new FieldPath(to)] as const,
    );
    const casts = Object.entries(config.cast ?? {}).map(
      ([field, type]) => [new FieldPath(field), type] as const,
    );
    const sets = [...compiled].map(([field, expression]) => [new FieldPath(field), expression] as const);
    const drops = (config.drop ?? []).map((field) => new FieldPath(field));
    const masks = Object.entries(config.mask ?? {}).map(
      ([field, spec]) => [new FieldPath(field), spec] as const,
    );
    const nested = [
      ...renames.flat(),
      ...casts.map(([path]) => path),
      ...sets.map(([path]) => path),
      ...drops,
      ...masks.map(([path]) => path),
    ].some((path) => path.parts.length > 1);
    // With top-level fields only, rows are built by copying without the fields that go (V8 turns objects that lose
    // properties to `delete` into slow dictionaries). Dropped fields go in the first copy when nothing reads them
    // before the drop (no expression, no cast of them), else in a second copy after the set expressions.
    const droppedFields = new Set(drops.map((path) => path.text));
    const dropEarly = sets.length === 0 && !casts.some(([path]) => droppedFields.has(path.text));
    const firstCopy = new FieldExclusion([
      ...renames.map(([from]) => from.text),
      ...(dropEarly ? droppedFields : []),
    ]);
    const dropCopy = new FieldExclusion(droppedFields);

    const cast = (row: Row, path: FieldPath, type: CastType) => {
      const value = path.get(row);
      if (value === undefined) return;
      try {
        path.set(row, castValue(value, type));
      } catch (error) {
        throw new FieldFailure(
          'CAST_FAILED',
          path.text,
          value,
          `cannot cast field ${path.text} to ${type}: ${messageOf(error)}`,
        );
      }
    };
    const mask = (row: Row, path: FieldPath, spec: MaskSpec) => {
      const value = path.get(row);
      if (value === undefined) return;
      try {
        path.set(row, maskValue(value, spec));
      } catch (error) {
        throw new FieldFailure(
          'CAST_FAILED',
          path.text,
          undefined,
          `cannot mask field ${path.text}: ${messageOf(error)}`,
        );
      }
    };
    const rename = (row: Row, paths: readonly (readonly [FieldPath, FieldPath])[]) => {
      const moved = paths
        .filter(([from]) => from.has(row))
        .map(([from, to]) => [to, from.delete(row)!] as const);
      for (const [to, value] of moved) to.set(row, value);
    };
    /** `source` with top-level renames (and early drops) applied. */
    const renamedCopy = (source: Row): Row => {
      const row = firstCopy.copy(source);
      for (const [from, to] of renames) {
        if (from.has(source) && !(dropEarly && droppedFields.has(to.text)))
          copyField(row, to.text, source[from.text]!);
      }
      return row;
    };
    /** `row` without the dropped top-level fields; `row` itself when it has none of them. */
    const withoutDropped = (row: Row): Row => {
      for (const path of drops) if (path.has(row)) return dropCopy.copy(row);
      return row;
    };

    // Expressions see the record with the image being reshaped in place of `after` (and of `before`, for that
    // image). One view is reused: evaluation is synchronous and no expression can keep the record itself.
    const view: ChangeRecord = {
      op: 'insert',
      key: null,
      before: null,
      after: null,
      source: { name: '', position: '' },
      sourceTimeMs: null,
      ingestTimeMs: 0,
      headers: {},
    };
    const values: Value[] = new Array<Value>(sets.length);
    const evaluateSets = (row: Row, record: ChangeRecord, image: 'after' | 'before') => {
      view.op = record.op;
      view.key = record.key;
      view.before = image === 'before' ? row : record.before;
      view.after = row;
      view.source = record.source;
      view.sourceTimeMs = record.sourceTimeMs;
      view.ingestTimeMs = record.ingestTimeMs;
      view.headers = record.headers;
      for (let index = 0; index < sets.length; index++) {
        const [path, expression] = sets[index]!;
        try {
          values[index] = expression.evaluate(view);
        } catch (error) {
          const code = error instanceof SluiceError ? error.code : 'EXPRESSION_EVAL';
          throw new FieldFailure(
            code,
            path.text,
            undefined,
            `cannot set field ${path.text} (${image} image): ${messageOf(error)}`,
          );
        }
      }
      for (let index = 0; index < sets.length; index++) sets[index]![0].set(row, values[index]!);
    };

    const transformRow = (source: Row, record: ChangeRecord, image: 'after' | 'before'): Row => {
      let row: Row;
      if (nested) {
        row = copyRow(source);
        rename(row, renames);
      } else row = renamedCopy(source);
      for (const [path, type] of casts) cast(row, path, type);
      if (sets.length > 0) evaluateSets(row, record, image);
      if (nested) for (const path of drops) path.delete(row);
      else if (!dropEarly) row = withoutDropped(row);
      for (const [path, spec] of masks) mask(row, path, spec);
      return row;
    };

    const keyRenames = renames.filter(([from, to]) => from.parts.length === 1 && to.parts.length === 1);
    const keyCasts = casts.filter(([path]) => path.parts.length === 1);
    const keyMasks = masks.filter(([path]) => path.parts.length === 1);
    const keyFields = [
      ...keyRenames.map(([from]) => from),
      ...keyCasts.map(([path]) => path),
      ...keyMasks.map(([path]) => path),
    ];
    /** The key reshaped, or the key itself when it holds none of the fields renamed, cast or masked. */
    const transformKey = (source: Row): Row => {
      let touched = false;
      for (const path of keyFields) touched ||= path.has(source);
      if (!touched) return source;
      const key = { ...source };
      rename(key, keyRenames);
      for (const [path, type] of keyCasts) cast(key, path, type);
      for (const [path, spec] of keyMasks) mask(key, path, spec);
      return key;
    };

    return {
      process(records) {
        const outcome = new BatchOutcome(context.node);
        for (let index = 0; index < records.length && !outcome.failed; index++) {
          const record = records[index]!;
          try {
            outcome.keep({
              ...record,
              key: record.key === null ? null : transformKey(record.key),
              after: record.after === null ? null : transformRow(record.after, record, 'after'),
              before: record.before === null ? null : transformRow(record.before, record, 'before'),
            });
          } catch (error) {
            if (!(error instanceof FieldFailure)) throw error;
            outcome.reject(onError, index, record, {
              code: error.code,
              reason: error.message,
              field: error.field,
              ...(error.value === undefined ? {} : { value: error.value }),
            });
          }
        }
        return outcome.result();
      },
    };
  },
});
