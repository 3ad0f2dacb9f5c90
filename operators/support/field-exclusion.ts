import type { Row, Value } from '../../runtime/record.js';

type Fields = { [field: string]: Value | undefined };

const NO_FIELDS: readonly string[] = [];

/** `row` without the zero to four `fields` (object rest with computed keys: a native copy, no `delete`). */
function without(row: Fields, fields: readonly string[]): Fields {
  const a = fields[0] ?? '';
  const b = fields[1] ?? '';
  const c = fields[2] ?? '';
  const d = fields[3] ?? '';
  switch (fields.length) {
    case 0: {
      const { ...rest } = row;
      return rest;
    }
    case 1: {
      const { [a]: _a, ...rest } = row;
      return rest;
    }
    case 2: {
      const { [a]: _a, [b]: _b, ...rest } = row;
      return rest;
    }
    case 3: {
      const { [a]: _a, [b]: _b, [c]: _c, ...rest } = row;
      return rest;
    }
    default: {
      const { [a]: _a, [b]: _b, [c]: _c, [d]: _d, ...rest } = row;
      return rest;
    }
  }
}

/**
 * Copies rows without some top-level fields, giving what `{ ...row }` followed by `delete`s would (own enumerable
 * fields, in order) without `delete`, which turns an object into a slow dictionary in V8.
 */
export class FieldExclusion {
  /** The fields to leave out, four at most per group. */
  private readonly groups: readonly (readonly string[])[];

  constructor(fields: Iterable<string>) {
    const unique = [...new Set(fields)];
    const groups: string[][] = [];
    for (let first = 0; first < unique.length; first += 4) groups.push(unique.slice(first, first + 4));
    this.groups = groups;
  }

  /** A copy of `row` without the excluded fields. */
  copy(row: Row): Row {
    // Not `{ ...row }`: V8 gives a spread copy its source's layout, and adding fields to it later is slow.
    if (this.groups.length === 0) return without(row, NO_FIELDS) as Row;
    let copy: Fields = row;
    for (let index = 0; index < this.groups.length; index++) copy = without(copy, this.groups[index]!);
    return copy as Row;
  }
}
