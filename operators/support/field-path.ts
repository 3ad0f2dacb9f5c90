import type { Row, Value } from '../../runtime/record.js';
import { isRow } from './is-row.js';

/**
 * A field named in operator options: a column (`email`) or, dotted, a path into nested objects (`address.city`).
 * Reading a missing field gives `undefined`; writing creates the objects on the way.
 */
export class FieldPath {
  /** The path as written in the config. */
  readonly text: string;
  /** The path's parts. */
  readonly parts: readonly string[];
  /** The field name when the path is a single column (the common case, served without walking `parts`). */
  private readonly top: string | undefined;

  constructor(text: string) {
    const parts = text.split('.');
    if (parts.some((part) => part.length === 0)) {
      throw new TypeError(
        `expected a field name or a dotted path such as "address.city", got ${JSON.stringify(text)}`,
      );
    }
    this.text = text;
    this.parts = parts;
    this.top = parts.length === 1 ? text : undefined;
  }

  /** The value at this path in `row`, or `undefined` when a part is missing. */
  get(row: Row | null): Value | undefined {
    const top = this.top;
    if (top !== undefined)
      return row !== null && isRow(row) && Object.hasOwn(row, top) ? row[top] : undefined;
    let current: Value | undefined = row ?? undefined;
    for (const part of this.parts) {
      if (!isRow(current) || !Object.hasOwn(current, part)) return undefined;
      current = current[part];
    }
    return current;
  }

  /** Sets the value at this path in `row`, creating (or replacing non-object values with) objects on the way. */
  set(row: Row, value: Value): void {
    if (this.top !== undefined) {
      row[this.top] = value;
      return;
    }
    let current = row;
    const last = this.parts.length - 1;
    for (let index = 0; index < last; index++) {
      const part = this.parts[index]!;
      const next = current[part];
      if (isRow(next)) {
        current = next;
      } else {
        const created: Row = {};
        current[part] = created;
        current = created;
      }
    }
    current[this.parts[last]!] = value;
  }

  /** Removes the field at this path from `row`; returns its value, or `undefined` when it was absent. */
  delete(row: Row): Value | undefined {
    const parent = this.parent(row);
    const name = this.parts[this.parts.length - 1]!;
    if (parent === undefined || !Object.hasOwn(parent, name)) return undefined;
    const value = parent[name];
    delete parent[name];
    return value;
  }

  /** True when `row` has a field at this path (its value may be null). */
  has(row: Row | null): boolean {
    if (row === null) return false;
    if (this.top !== undefined) return Object.hasOwn(row, this.top);
    const parent = this.parent(row);
    return parent !== undefined && Object.hasOwn(parent, this.parts[this.parts.length - 1]!);
  }

  private parent(row: Row): Row | undefined {
    let current: Value | undefined = row;
    for (let index = 0; index < this.parts.length - 1; index++) {
      if (!isRow(current)) return undefined;
      current = current[this.parts[index]!];
    }
    return isRow(current) ? current : undefined;
  }
}
