import { type Static, Type } from '@sinclair/typebox';
import { type ConfigIssue, defineOperator } from '../runtime/component.js';
import type { BatchOperator } from '../runtime/operator.js';
import type { ChangeRecord, Value } from '../runtime/record.js';
import { BatchOutcome } from './support/batch-outcome.js';
import { assertNoIssues, fieldIssues } from './support/config-issues.js';
import { compareVersions } from './support/compare-versions.js';
import { describeValue } from './support/describe-value.js';
import { FieldPath } from './support/field-path.js';
import { LruMap } from './support/lru-map.js';
import { rowOf } from './support/row-of.js';
import { valueKey } from './support/value-key.js';

/** Keys a dedup node remembers by default. */
const DEFAULT_WINDOW = 100_000;

const schema = Type.Object(
  {
    key: Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      description: 'Fields that identify a row (dotted paths into the row), e.g. [id] or [tenant, order_id].',
    }),
    version: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Field holding the row version (updated_at, a counter, an HLC). A record passes only when its version is ' +
          'newer than the last one seen for its key. Omitted: any record whose key was seen in the window is dropped.',
      }),
    ),
    version_in: Type.Optional(
      Type.Union([Type.Literal('row'), Type.Literal('source')], {
        default: 'row',
        description:
          'Where `version` is read: a row field (`row`) or a source field such as hlc, lsn or offset (`source`).',
      }),
    ),
    window: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: DEFAULT_WINDOW,
        description: 'Most keys remembered (least recently seen are forgotten first).',
      }),
    ),
  },
  { additionalProperties: false },
);

function issuesOf(config: Static<typeof schema>): ConfigIssue[] {
  const issues = config.key.flatMap((field, index) => fieldIssues(field, ['key', index]));
  if (config.version !== undefined && config.version_in !== 'source')
    issues.push(...fieldIssues(config.version, ['version']));
  return issues;
}

/** Counts kept by a dedup node, for metrics. */
export interface DedupStats {
  /** Records dropped as duplicates or stale versions. */
  readonly dropped: number;
  /** Records passed unchecked because they had none of the key fields. */
  readonly unkeyed: number;
  /** Records passed unchecked because they had no version. */
  readonly unversioned: number;
  /** Keys remembered now (at most `window`). */
  readonly keys: number;
  /** Keys forgotten so far to stay within `window`. */
  readonly evicted: number;
}

/** A dedup node's operator: a batch operator that also reports its counts. */
export interface DedupOperator extends BatchOperator {
  stats(): DedupStats;
}

/** A version remembered for a key; `true` when the node has no `version` (the key alone was seen). */
type Seen = Value | true;

/**
 * `type: dedup`: drops records already seen. With `version`, a record passes only when its version is newer than
 * the last version seen for its key (numbers and decimals numerically, HLC strings as (wall, logical), other
 * strings lexically; see `compareVersions`); equal or older versions are dropped and counted. Without `version`,
 * the first record of each key passes and later ones are dropped.
 *
 * Memory is bounded by `window`: an LRU map of key to last version, so a key not seen for `window` other keys is
 * forgotten and its next record passes. Keys are read from `after`, or for deletes from `before` or the primary key.
 * Records with none of the key fields pass unchecked (counted as `unkeyed`); so do records with no version
 * (counted as `unversioned`: a delete has no row version when `version_in: row`). A version that cannot be ordered
 * against the remembered one (text against a number) sends the record to the DLQ.
 */
export const dedupOperator = defineOperator({
  type: 'dedup',
  summary: 'Drop duplicate and stale records by key and version, remembering a bounded window of keys.',
  schema,
  check: (config) => issuesOf(config),
  create(config, context): DedupOperator {
    assertNoIssues(context.node, issuesOf(config));
    const keyPaths = config.key.map((field) => new FieldPath(field));
    const versionPath = config.version === undefined ? undefined : new FieldPath(config.version);
    const versionIn = config.version_in ?? 'row';
    const seen = new LruMap<string, Seen>(config.window ?? DEFAULT_WINDOW);
    let dropped = 0;
    let unkeyed = 0;
    let unversioned = 0;

    const versionOf = (record: ChangeRecord): Value | undefined => {
      if (versionPath === undefined) return true;
      if (versionIn === 'source') return record.source[versionPath.text];
      return versionPath.get(record.after ?? record.before);
    };

    return {
      process(records) {
        const outcome = new BatchOutcome(context.node);
        for (const record of records) {
          const row = rowOf(record);
          const parts = keyPaths.map((path) => path.get(row));
          if (parts.every((part) => part === undefined || part === null)) {
            unkeyed++;
            outcome.keep(record);
            continue;
          }
          const version = versionOf(record);
          if (version === undefined || version === null) {
            unversioned++;
            outcome.keep(record);
            continue;
          }
          const key = valueKey(parts);
          const last = seen.get(key);
          if (last === undefined) {
            seen.set(key, version);
            outcome.keep(record);
            continue;
          }
          if (last === true || version === true) {
            dropped++;
            continue;
          }
          const order = compareVersions(version, last);
          if (order === null) {
            outcome.deadLetter(record, {
              reason: `expected a version comparable with the last one seen for this key (${describeValue(last)}), got ${describeValue(version)}`,
              field: config.version,
              value: version,
            });
          } else if (order > 0) {
            seen.set(key, version);
            outcome.keep(record);
          } else {
            dropped++;
          }
        }
        return outcome.result();
      },
      stats: () => ({ dropped, unkeyed, unversioned, keys: seen.size, evicted: seen.evicted }),
    };
  },
});
