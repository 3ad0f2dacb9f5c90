import type { EncodedChange } from './change.js';
import { compareVersions } from './version.js';

/**
 * Keeps one change per row of a batch: the last in source order, so that an insert, updates and a delete of one
 * key resolve to whatever came last. With versions (newer-wins), the change with the greatest version is kept
 * instead (the last of equal versions), so a replayed older change later in the batch cannot move the row back.
 * The survivors keep the order in which their rows first appeared.
 */
export function collapseChanges(changes: readonly EncodedChange[], versioned: boolean): EncodedChange[] {
  const latest = new Map<string, EncodedChange>();
  for (const change of changes) {
    const previous = latest.get(change.identity);
    if (previous && versioned && compareVersions(change.change.version!, previous.change.version!) < 0)
      continue;
    latest.set(change.identity, change);
  }
  return [...latest.values()];
}
