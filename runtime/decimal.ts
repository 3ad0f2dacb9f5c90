/** Matches the text of a JSON number: the only form a {@link Decimal} accepts. */
const NUMBER_TEXT = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * An exact decimal number kept as the text it arrived in (`26.30` stays `26.30`).
 *
 * Sluice never does arithmetic on money: it carries the digits from source to sink unchanged. Numbers that a
 * JavaScript `number` holds exactly stay `number`; integers beyond 2^53 become `bigint`; every other numeric text
 * becomes a `Decimal`.
 */
export class Decimal {
  /** The number's digits, exactly as received, e.g. `"26.30"` or `"-1.5e-7"`. */
  readonly text: string;

  constructor(text: string) {
    if (!NUMBER_TEXT.test(text)) throw new TypeError(`not a decimal number: ${JSON.stringify(text)}`);
    this.text = text;
  }

  /** The digits, unchanged. */
  toString(): string {
    return this.text;
  }

  /** Serialises as the digits (a string) when passed to plain `JSON.stringify`; Sluice's own JSON writer emits a bare number. */
  toJSON(): string {
    return this.text;
  }

  /** The nearest `number` (lossy: for comparisons and arithmetic in expressions only). */
  toNumber(): number {
    return Number(this.text);
  }

  /** True when both hold the same digits. `1.50` and `1.5` differ: the digits are the data. */
  equals(other: unknown): boolean {
    return other instanceof Decimal && other.text === this.text;
  }
}
