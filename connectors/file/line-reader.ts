import type { FileHandle } from 'node:fs/promises';

/** One line of a file, without its line break. */
export interface Line {
  /** The text, decoded as UTF-8, without the trailing `\n` or `\r\n`. */
  readonly text: string;
  /** Its 1-based line number. */
  readonly number: number;
  /** The number of the last line it spans (a CSV record with quoted line breaks spans several; else `number`). */
  readonly last: number;
  /** Byte offset of its first byte. */
  readonly start: number;
  /** Byte offset just past its line break (or past its last byte, at the end of a file without a final break). */
  readonly end: number;
  /** The line break that ended it: `\n`, `\r\n`, or empty at the end of a file without a final break. */
  readonly lineBreak: LineBreak;
}

/** A line break as it stands in the file. */
export type LineBreak = '\n' | '\r\n' | '';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const BYTE_ORDER_MARK = '\uFEFF';

/**
 * Reads a file line by line from a byte offset, a chunk at a time (never the whole file), keeping the byte offset
 * and number of every line; a UTF-8 byte-order mark at the start of the file is dropped. The buffer grows only to hold a line longer than a chunk.
 */
export class LineReader {
  readonly #handle: FileHandle;
  #buffer: Buffer;
  /** Valid bytes of the buffer. */
  #data: Buffer;
  /** Index in `#data` of the first unread byte. */
  #position = 0;
  /** File offset of `#data[0]`. */
  #dataStart: number;
  #lineNumber: number;
  #ended = false;

  /** Reads `handle` from byte `start`, whose line is number `lineBefore + 1`. */
  constructor(handle: FileHandle, start: number, lineBefore: number, chunkBytes = 64 * 1024) {
    this.#handle = handle;
    this.#buffer = Buffer.allocUnsafe(chunkBytes);
    this.#data = this.#buffer.subarray(0, 0);
    this.#dataStart = start;
    this.#lineNumber = lineBefore;
  }

  /** The file offset of the first byte not yet returned. */
  get offset(): number {
    return this.#dataStart + this.#position;
  }

  /** The number of the last line returned (or the one before the start). */
  get lineNumber(): number {
    return this.#lineNumber;
  }

  /** The next line, or `null` at the end of the file. */
  async next(): Promise<Line | null> {
    for (;;) {
      const data = this.#data;
      const start = this.#position;
      const newline = data.indexOf(NEWLINE, start);
      if (newline >= 0) {
        this.#position = newline + 1;
        const crlf = newline > start && data[newline - 1] === CARRIAGE_RETURN;
        const text = data.toString('utf8', start, crlf ? newline - 1 : newline);
        return this.#line(text, start, newline + 1, crlf ? '\r\n' : '\n');
      }
      if (this.#ended) {
        if (start >= data.length) return null;
        this.#position = data.length;
        return this.#line(data.toString('utf8', start), start, data.length, '');
      }
      await this.#fill();
    }
  }

  #line(decoded: string, start: number, end: number, lineBreak: LineBreak): Line {
    const text =
      this.#dataStart + start === 0 && decoded.startsWith(BYTE_ORDER_MARK) ? decoded.slice(1) : decoded;
    const number = ++this.#lineNumber;
    return {
      text,
      number,
      last: number,
      start: this.#dataStart + start,
      end: this.#dataStart + end,
      lineBreak,
    };
  }

  /** Keeps the unread bytes, moved to the buffer's front, and reads the next chunk after them. */
  async #fill(): Promise<void> {
    const kept = this.#data.length - this.#position;
    if (kept === this.#buffer.length) {
      const larger = Buffer.allocUnsafe(this.#buffer.length * 2);
      this.#data.copy(larger, 0, this.#position);
      this.#buffer = larger;
    } else if (kept > 0) {
      this.#data.copy(this.#buffer, 0, this.#position);
    }
    this.#dataStart += this.#position;
    this.#position = 0;
    const { bytesRead } = await this.#handle.read(
      this.#buffer,
      kept,
      this.#buffer.length - kept,
      this.#dataStart + kept,
    );
    if (bytesRead === 0) this.#ended = true;
    this.#data = this.#buffer.subarray(0, kept + bytesRead);
  }
}
