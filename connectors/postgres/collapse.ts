import type { Change, EncodedChange } from './change.js';
import { compareVersions } from './version.js';

/**
 * Keeps one change per row of a batch: the last in source order, so that an insert, updates and a delete of one
 * key resolve to whatever came last. With versions (newer-wins), the change with the greatest version is kept
 * instead (the last of equal versions), so a replayed older change later in the batch cannot move the row back.
 * An upsert that does not carry every column an earlier upsert of its row in the batch wrote gets the earlier
 * values of those columns (see {@link withEarlierFields}), made into a change by `encode`. The survivors keep the
 * order in which their rows first appeared.
 */
export function collapseChanges(
  changes: readonly EncodedChange[],
  versioned: boolean,
  encode: (change: Change) => EncodedChange,
): EncodedChange[] {
  const latest = new Map<string, EncodedChange>();
  for (const change of changes) {
    const previous = latest.get(change.identity);
    if (previous === undefined) {
      latest.set(change.identity, change);
      continue;
    }
    if (versioned && compareVersions(change.change.version!, previous.change.version!) < 0) continue;
    latest.set(change.identity, withEarlierFields(change, previous, encode));
  }
  return [...latest.values()];
}

/**
 * `change` as it must be written in place of `previous` and itself: applied one after the other, an upsert leaves
 * the columns it does not carry as the earlier upsert wrote them (a CDC update omits TOASTed values it left
 * unchanged), so the survivor carries those values itself; else a row the target did not hold yet would get
 * nulls there.
 */
function withEarlierFields(
  change: EncodedChange,
  previous: EncodedChange,
  encode: (change: Change) => EncodedChange,
): EncodedChange {
  if (change.shape === previous.shape || change.change.kind !== 'upsert' || previous.change.kind !== 'upsert')
    return change;
  const { fields } = change.change;
  if (previous.shape.names.every((name) => Object.hasOwn(fields, name))) return change;
  return encode({ ...change.change, fields: { ...previous.change.fields, ...fields } });
}
