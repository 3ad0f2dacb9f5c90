import type { ChangeRecord } from '../../runtime/record.js';
import type { Hlc } from './hlc.js';

/**
 * What one changefeed message means: a row change, or a resolved timestamp (no new change with a lower HLC will
 * follow on that partition or stream; duplicates still may).
 */
export type ChangefeedEvent =
  | { readonly kind: 'change'; readonly record: ChangeRecord }
  | { readonly kind: 'resolved'; readonly hlc: Hlc };
