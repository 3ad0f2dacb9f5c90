import { Decimal } from '../../runtime/decimal.js';
import type { Operation, Row } from '../../runtime/record.js';

const FIRST_NAMES = [
  'Ada', 'Alan', 'Barbara', 'Claude', 'Dennis', 'Donald', 'Edsger', 'Frances', 'Grace', 'Hedy',
  'John', 'Joan', 'Ken', 'Leslie', 'Linus', 'Margaret', 'Niklaus', 'Radia', 'Shafi', 'Tim',
];
const LAST_NAMES = [
  'Lovelace', 'Turing', 'Liskov', 'Shannon', 'Ritchie', 'Knuth', 'Dijkstra', 'Allen', 'Hopper', 'Lamarr',
  'Backus', 'Clarke', 'Thompson', 'Lamport', 'Torvalds', 'Hamilton', 'Wirth', 'Perlman', 'Goldwasser', 'Berners-Lee',
];
const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;
const LATER_STATUSES = ['paid', 'shipped', 'cancelled'] as const;
const STATUSES = ['new', ...LATER_STATUSES] as const;
const NOTES = ['', '', '', 'leave at the door', 'gift wrap, please', 'call before delivery', 'fragile', 'express'];
/** Amounts run from 1.00 to 499.99. */
const MIN_CENTS = 100;
const CENT_RANGE = 49_900;
/** `created_at` of order 1; each later id is one minute later. */
const FIRST_CREATED_AT_MS = Date.UTC(2024, 0, 1);
const TWO_TO_32 = 2 ** 32;

/** One generated order: its key column, its operation and its row. */
export interface GeneratedOrder {
  readonly op: Operation;
  readonly id: number;
  readonly row: Row;
}

/**
 * Synthetic orders as a pure function of `(seed, sequence)`: the same seed always yields the same order at the
 * same sequence number, whatever the batching or restarts. Ids cycle through `keys` distinct values when given
 * (the first time an id appears is an insert, later ones updates of it); a customer (and email) belongs to an id.
 * With `invalidRatio`, that fraction of orders carries one defect: a null email, a malformed email or a negative
 * amount. Lookup tables (names, emails, amounts) are built once; generating an order allocates only its row.
 */
export class OrderGenerator {
  readonly #seed: number;
  readonly #keys: number | undefined;
  readonly #invalidThreshold: number;
  readonly #customers: readonly string[];
  readonly #emails: readonly string[];
  readonly #malformedEmails: readonly string[];
  readonly #amounts: (Decimal | undefined)[] = new Array<Decimal | undefined>(CENT_RANGE);

  constructor(seed: number, keys: number | undefined, invalidRatio: number) {
    this.#seed = mix((seed >>> 0) ^ Math.floor(seed / TWO_TO_32));
    this.#keys = keys;
    this.#invalidThreshold = Math.floor(invalidRatio * TWO_TO_32);
    const customers: string[] = [];
    const emails: string[] = [];
    const malformed: string[] = [];
    for (const first of FIRST_NAMES) {
      for (const last of LAST_NAMES) {
        const local = `${first}.${last}`.toLowerCase();
        customers.push(`${first} ${last}`);
        emails.push(`${local}@example.com`);
        malformed.push(`${local}.example.com`);
      }
    }
    this.#customers = customers;
    this.#emails = emails;
    this.#malformedEmails = malformed;
  }

  /** The order at `sequence` (0-based). */
  order(sequence: number): GeneratedOrder {
    const keys = this.#keys;
    const id = keys === undefined ? sequence + 1 : (sequence % keys) + 1;
    const op: Operation = keys === undefined || sequence < keys ? 'insert' : 'update';
    const customer = mix(this.#seed ^ id) % this.#customers.length;
    let random = mix(this.#seed ^ mix((sequence >>> 0) ^ mix(Math.floor(sequence / TWO_TO_32))));
    const cents = random % CENT_RANGE;
    random = xorshift(random);
    const currency = CURRENCIES[random % CURRENCIES.length]!;
    random = xorshift(random);
    const status = keys === undefined ? STATUSES[random % STATUSES.length]! : op === 'insert' ? 'new' : LATER_STATUSES[random % LATER_STATUSES.length]!;
    random = xorshift(random);
    const note = NOTES[random % NOTES.length]!;
    random = xorshift(random);
    let email: string | null = this.#emails[customer]!;
    let amount = this.#amounts[cents] ?? (this.#amounts[cents] = new Decimal(centsText(MIN_CENTS + cents)));
    if (random < this.#invalidThreshold) {
      const defect = xorshift(random) % 3;
      if (defect === 0) email = null;
      else if (defect === 1) email = this.#malformedEmails[customer]!;
      else amount = new Decimal(`-${amount.text}`);
    }
    return {
      op,
      id,
      row: {
        id,
        customer: this.#customers[customer]!,
        email,
        amount,
        currency,
        status,
        created_at: new Date(FIRST_CREATED_AT_MS + (id - 1) * 60_000),
        note,
      },
    };
  }
}

/** Cents as a decimal text with two places: 2630 → `26.30`. */
function centsText(cents: number): string {
  const fraction = cents % 100;
  return `${(cents - fraction) / 100}.${fraction < 10 ? '0' : ''}${fraction}`;
}

/** The murmur3 finaliser: a well-spread unsigned 32-bit hash of a 32-bit integer. */
function mix(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** One xorshift32 step (never returns 0 for a non-zero input). */
function xorshift(value: number): number {
  let x = value | 0;
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x >>> 0;
}
