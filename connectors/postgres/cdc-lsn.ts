import { SluiceError } from '../../runtime/errors.js';

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

/**
 * Postgres log sequence numbers (WAL positions): the text form `16/B374D848` Postgres prints and accepts, and
 * the 64-bit position (`bigint`) the replication protocol carries and Sluice compares.
 */
export const Lsn = {
  /** The position of `16/B374D848`. Throws `PG_LSN_INVALID` for any other text. */
  parse(text: string): bigint {
    const match = LSN_TEXT.exec(text);
    if (!match) throw new SluiceError('PG_LSN_INVALID', `expected a Postgres LSN such as 16/B374D848, got ${JSON.stringify(text)}`);
    return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
  },
  /** The text form of a position, upper-case as Postgres prints it: `16/B374D848`. */
  format(position: bigint): string {
    return `${(position >> 32n).toString(16).toUpperCase()}/${(position & 0xffffffffn).toString(16).toUpperCase()}`;
  },
} as const;
