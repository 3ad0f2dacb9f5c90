import { SluiceError } from '../../runtime/errors.js';

/** One column value in a pgoutput tuple: NULL, an unchanged TOASTed value (not sent), or the value's text. */
export type PgoutputColumn = { kind: 'null' } | { kind: 'unchanged' } | { kind: 'text'; text: string };

/** A column of a relation as pgoutput describes it. */
export interface PgoutputRelationColumn {
  readonly name: string;
  readonly typeOid: number;
  /** Part of the replica identity (for `REPLICA IDENTITY FULL`, every column). */
  readonly isKey: boolean;
}

/** A decoded pgoutput (protocol version 1) message. Messages Sluice does not use are `other`. */
export type PgoutputMessage =
  | { readonly tag: 'begin'; readonly finalLsn: bigint; readonly commitTimeMs: number; readonly xid: number }
  | { readonly tag: 'commit'; readonly commitLsn: bigint; readonly endLsn: bigint; readonly commitTimeMs: number }
  | {
      readonly tag: 'relation';
      readonly oid: number;
      readonly schema: string;
      readonly table: string;
      readonly replicaIdentity: string;
      readonly columns: readonly PgoutputRelationColumn[];
    }
  | { readonly tag: 'insert'; readonly oid: number; readonly newTuple: readonly PgoutputColumn[] }
  | {
      readonly tag: 'update';
      readonly oid: number;
      /** The old key (`K`, sent when the key changed) or the whole old row (`O`, with `REPLICA IDENTITY FULL`). */
      readonly old: { readonly kind: 'key' | 'row'; readonly tuple: readonly PgoutputColumn[] } | null;
      readonly newTuple: readonly PgoutputColumn[];
    }
  | {
      readonly tag: 'delete';
      readonly oid: number;
      readonly old: { readonly kind: 'key' | 'row'; readonly tuple: readonly PgoutputColumn[] };
    }
  | { readonly tag: 'truncate'; readonly oids: readonly number[]; readonly cascade: boolean; readonly restartIdentity: boolean }
  | { readonly tag: 'other'; readonly type: string };

/** Microseconds between the Unix epoch and the Postgres epoch (2000-01-01). */
const POSTGRES_EPOCH_US = 946_684_800_000_000n;

/** A Postgres timestamp (microseconds since 2000-01-01) as milliseconds since the Unix epoch. */
function toUnixMs(postgresUs: bigint): number {
  return Number((postgresUs + POSTGRES_EPOCH_US) / 1000n);
}

class Reader {
  offset = 0;
  constructor(readonly buffer: Buffer) {}

  byte(): string {
    return String.fromCharCode(this.buffer.readUInt8(this.offset++));
  }
  int8(): number {
    return this.buffer.readInt8(this.offset++);
  }
  int16(): number {
    const value = this.buffer.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }
  int32(): number {
    const value = this.buffer.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  uint32(): number {
    const value = this.buffer.readUInt32BE(this.offset);
    this.offset += 4;
    return value;
  }
  uint64(): bigint {
    const value = this.buffer.readBigUInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  int64(): bigint {
    const value = this.buffer.readBigInt64BE(this.offset);
    this.offset += 8;
    return value;
  }
  string(): string {
    const end = this.buffer.indexOf(0, this.offset);
    if (end < 0) throw new RangeError('unterminated string');
    const value = this.buffer.toString('utf8', this.offset, end);
    this.offset = end + 1;
    return value;
  }
  tuple(): PgoutputColumn[] {
    const count = this.int16();
    const columns: PgoutputColumn[] = [];
    for (let index = 0; index < count; index++) {
      const kind = this.byte();
      if (kind === 'n') columns.push({ kind: 'null' });
      else if (kind === 'u') columns.push({ kind: 'unchanged' });
      else if (kind === 't') {
        const length = this.int32();
        if (length < 0 || this.offset + length > this.buffer.length)
          throw new RangeError(`column ${index} says ${length} bytes, ${this.buffer.length - this.offset} are left`);
        columns.push({ kind: 'text', text: this.buffer.toString('utf8', this.offset, this.offset + length) });
        this.offset += length;
      } else throw new RangeError(`unknown tuple column kind ${JSON.stringify(kind)}`);
    }
    return columns;
  }
}

/**
 * Decodes one pgoutput message (the payload of an XLogData message) of protocol version 1, in text mode.
 * Throws `PG_PGOUTPUT_INVALID` when the bytes are not such a message.
 */
export function decodePgoutput(payload: Buffer): PgoutputMessage {
  const reader = new Reader(payload);
  const tag = reader.byte();
  try {
    switch (tag) {
      case 'B':
        return { tag: 'begin', finalLsn: reader.uint64(), commitTimeMs: toUnixMs(reader.int64()), xid: reader.uint32() };
      case 'C': {
        reader.int8();
        return { tag: 'commit', commitLsn: reader.uint64(), endLsn: reader.uint64(), commitTimeMs: toUnixMs(reader.int64()) };
      }
      case 'R': {
        const oid = reader.uint32();
        const schema = reader.string();
        const table = reader.string();
        const replicaIdentity = reader.byte();
        const count = reader.int16();
        const columns: PgoutputRelationColumn[] = [];
        for (let index = 0; index < count; index++) {
          const flags = reader.int8();
          const name = reader.string();
          const typeOid = reader.uint32();
          reader.int32();
          columns.push({ name, typeOid, isKey: (flags & 1) === 1 });
        }
        return { tag: 'relation', oid, schema, table, replicaIdentity, columns };
      }
      case 'I': {
        const oid = reader.uint32();
        reader.byte();
        return { tag: 'insert', oid, newTuple: reader.tuple() };
      }
      case 'U': {
        const oid = reader.uint32();
        let marker = reader.byte();
        let old: { kind: 'key' | 'row'; tuple: PgoutputColumn[] } | null = null;
        if (marker === 'K' || marker === 'O') {
          old = { kind: marker === 'K' ? 'key' : 'row', tuple: reader.tuple() };
          marker = reader.byte();
        }
        if (marker !== 'N') throw new RangeError(`expected the new tuple marker N, got ${JSON.stringify(marker)}`);
        return { tag: 'update', oid, old, newTuple: reader.tuple() };
      }
      case 'D': {
        const oid = reader.uint32();
        const marker = reader.byte();
        return { tag: 'delete', oid, old: { kind: marker === 'K' ? 'key' : 'row', tuple: reader.tuple() } };
      }
      case 'T': {
        const count = reader.int32();
        const options = reader.int8();
        const oids: number[] = [];
        for (let index = 0; index < count; index++) oids.push(reader.uint32());
        return { tag: 'truncate', oids, cascade: (options & 1) === 1, restartIdentity: (options & 2) === 2 };
      }
      default:
        return { tag: 'other', type: tag };
    }
  } catch (cause) {
    throw new SluiceError(
      'PG_PGOUTPUT_INVALID',
      `expected a pgoutput "${tag}" message, got ${payload.length} bytes that do not decode as one (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause },
    );
  }
}
