import { open, type FileHandle } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parse as parseCsv } from 'csv-parse/sync';
import { CheckpointCommitter } from '../../runtime/checkpoint-committer.js';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import { NotConnectedError, SluiceError, messageOf } from '../../runtime/errors.js';
import { parseJson } from '../../runtime/json.js';
import type { ChangeRecord, Operation, Row, SourceInfo, Value } from '../../runtime/record.js';
import type { Source, SourceBatch, SourceContext } from '../../runtime/source.js';
import { changeRecordOf } from './change-record-of.js';
import { csvFieldValue, type CsvColumnType } from './csv-field-value.js';
import { keyOf } from './key-of.js';
import { LineReader, type Line } from './line-reader.js';

/** The settings of a {@link FileSource}, resolved from its config. */
export interface FileSourceSettings {
  /** Absolute path of the file. */
  readonly file: string;
  /** The path as configured: positions read `path:LINE`. */
  readonly path: string;
  readonly format: 'jsonl' | 'csv';
  /** `rows`: each line is a row; `changes`: each line is a change record (or a dead-letter entry holding one). */
  readonly records: 'rows' | 'changes';
  /** Columns forming the record key, if any. */
  readonly key: readonly string[] | undefined;
  /** The operation of rows read in `rows` mode. */
  readonly op: Operation;
  /** Most lines in one batch. */
  readonly batchRecords: number;
  /** CSV: the first line names the columns. */
  readonly header: boolean;
  /** CSV: the field delimiter. */
  readonly delimiter: string;
  /** CSV: column types by name (all other columns are strings); without a header, the column names in order. */
  readonly columns: Readonly<Record<string, CsvColumnType>> | undefined;
  /** Fewest milliseconds between checkpoint saves while running (default `DEFAULTS.checkpointIntervalMs`). */
  readonly checkpointIntervalMs?: number;
}

/** Where the contiguous acknowledged prefix of the file ends: lines fully handled and the byte offset after them. */
interface FilePosition {
  readonly line: number;
  readonly byte: number;
}

/** The checkpoint key, inside the source's namespace. */
const CHECKPOINT_KEY = 'file';

/** What one `connect` opened. */
interface Session {
  readonly context: SourceContext;
  readonly handle: FileHandle;
  readonly reader: LineReader;
  readonly committer: CheckpointCommitter<FilePosition>;
  readonly size: number;
  /** CSV column names and types, in order. */
  readonly columns: readonly { readonly name: string; readonly type: CsvColumnType }[];
}

/**
 * Reads a JSON-lines or CSV file as a bounded source, streaming a chunk at a time. Each batch remembers where it
 * ends; the contiguous acknowledged prefix is saved as `{ line, byte }` in the context's checkpoint store, and a
 * new connection seeks straight past it. Lines that cannot be decoded come back in the batch's `rejected`.
 */
export class FileSource implements Source {
  readonly bounded = true;
  readonly #settings: FileSourceSettings;
  readonly #table: string;
  #session: Session | undefined;

  constructor(settings: FileSourceSettings) {
    this.#settings = settings;
    this.#table = basename(settings.path, extname(settings.path));
  }

  async connect(context: SourceContext): Promise<void> {
    const { file } = this.#settings;
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw new SluiceError(
        missing ? 'FILE_NOT_FOUND' : 'FILE_READ_FAILED',
        `could not open ${file}: ${messageOf(error)}`,
        {
          retriable: !missing,
          cause: error,
        },
      );
    }
    try {
      const size = (await handle.stat()).size;
      const checkpoint = positionOf(await context.checkpoints.load(CHECKPOINT_KEY));
      let start: FilePosition = checkpoint ?? { line: 0, byte: 0 };
      if (checkpoint !== undefined) await this.#checkResumePoint(handle, checkpoint, size);
      let columns: Session['columns'] = [];
      if (this.#settings.format === 'csv') {
        const header = await this.#columns(handle);
        columns = header.columns;
        if (start.byte < header.end.byte) start = header.end;
      }
      const committer = new CheckpointCommitter<FilePosition>({
        store: context.checkpoints,
        key: CHECKPOINT_KEY,
        logger: context.logger,
        intervalMs: this.#settings.checkpointIntervalMs,
        committed: checkpoint,
      });
      const reader = new LineReader(handle, start.byte, start.line);
      this.#session = { context, handle, reader, committer, size, columns };
      if (checkpoint !== undefined)
        context.logger.info(
          { line: checkpoint.line, byte: checkpoint.byte },
          `resuming ${this.#settings.path} after line ${checkpoint.line}`,
        );
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async read(): Promise<SourceBatch | null> {
    const session = this.#session;
    if (session === undefined) throw new NotConnectedError(`file source reading ${this.#settings.path}`);
    const { reader, committer, context } = session;
    const first: FilePosition = { line: reader.lineNumber, byte: reader.offset };
    const records: ChangeRecord[] = [];
    const ends: FilePosition[] = [];
    const rejected: DeadLetter[] = [];
    const csvLines: Line[] = [];
    let lines = 0;
    try {
      while (lines < this.#settings.batchRecords && !context.signal.aborted) {
        const line = this.#settings.format === 'csv' ? await csvRecordLine(reader) : await reader.next();
        if (line === null) break;
        if (line.text.trim() === '') continue;
        lines++;
        if (this.#settings.format === 'csv') csvLines.push(line);
        else this.#decodeJson(line, context, records, ends, rejected);
      }
    } catch (error) {
      throw new SluiceError(
        'FILE_READ_FAILED',
        `could not read ${this.#settings.file}: ${messageOf(error)}`,
        { retriable: true, cause: error },
      );
    }
    if (csvLines.length > 0) this.#decodeCsv(csvLines, session, records, ends, rejected);
    const last: FilePosition = { line: reader.lineNumber, byte: reader.offset };
    if (last.byte === first.byte) return null;
    const id = committer.track(last);
    return {
      records,
      rejected,
      bytes: last.byte - first.byte,
      ack(count?: number): void {
        if (count === undefined || count >= records.length) committer.ack(id);
        else committer.ack(id, count === 0 ? first : ends[count - 1]);
      },
    };
  }

  async close(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    try {
      await session.committer.close();
    } finally {
      await session.handle.close();
    }
  }

  progress(): { done: number; total: number | null; unit: string } {
    const session = this.#session;
    return { done: session?.reader.offset ?? 0, total: session?.size ?? null, unit: 'bytes' };
  }

  #source(context: SourceContext, line: Line): SourceInfo {
    return { name: context.name, position: `${this.#settings.path}:${line.number}`, table: this.#table };
  }

  #reject(context: SourceContext, line: Line, reason: string, rejected: DeadLetter[]): void {
    rejected.push({
      node: context.name,
      reason: `${this.#settings.path} line ${line.number}: ${reason}`,
      source: { name: context.name, position: `${this.#settings.path}:${line.number}` },
      raw: line.text,
    });
  }

  #decodeJson(
    line: Line,
    context: SourceContext,
    records: ChangeRecord[],
    ends: FilePosition[],
    rejected: DeadLetter[],
  ): void {
    let record: ChangeRecord;
    try {
      const value = parseJson(line.text);
      const source = this.#source(context, line);
      if (this.#settings.records === 'changes') record = changeRecordOf(value, source, this.#settings.key);
      else {
        if (!isRow(value)) throw new TypeError(`expected a JSON object per line, found ${kindOf(value)}`);
        record = this.#rowRecord(value, source);
      }
    } catch (error) {
      this.#reject(context, line, messageOf(error), rejected);
      return;
    }
    records.push(record);
    ends.push({ line: line.last, byte: line.end });
  }

  #decodeCsv(
    lines: readonly Line[],
    session: Session,
    records: ChangeRecord[],
    ends: FilePosition[],
    rejected: DeadLetter[],
  ): void {
    const { context, columns } = session;
    const options = {
      delimiter: this.#settings.delimiter,
      relax_column_count: true,
      skip_empty_lines: false,
    };
    let fields: string[][] | undefined;
    try {
      fields = parseCsv(lines.map((line) => line.text).join('\n'), options);
      if (fields.length !== lines.length) fields = undefined;
    } catch {
      fields = undefined;
    }
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      try {
        const values = (fields === undefined ? parseCsv(line.text, options)[0] : fields[i]) ?? [];
        if (values.length !== columns.length) {
          throw new TypeError(`expected ${columns.length} columns, found ${values.length}`);
        }
        const row: Row = {};
        for (let c = 0; c < columns.length; c++) {
          const column = columns[c]!;
          try {
            row[column.name] = csvFieldValue(values[c]!, column.type);
          } catch (error) {
            throw new TypeError(`column "${column.name}": ${messageOf(error)}`);
          }
        }
        records.push(this.#rowRecord(row, this.#source(context, line)));
        ends.push({ line: line.last, byte: line.end });
      } catch (error) {
        this.#reject(context, line, messageOf(error), rejected);
      }
    }
  }

  #rowRecord(row: Row, source: SourceInfo): ChangeRecord {
    const { key, op } = this.#settings;
    const deleted = op === 'delete';
    return {
      op,
      key: key === undefined ? null : keyOf(row, key),
      before: deleted ? row : null,
      after: deleted ? null : row,
      source,
      sourceTimeMs: null,
      ingestTimeMs: Date.now(),
      headers: {},
    };
  }

  /** The CSV columns (from the header line, or from `columns` without one) and where the data starts. */
  async #columns(handle: FileHandle): Promise<{ columns: Session['columns']; end: FilePosition }> {
    const declared = this.#settings.columns ?? {};
    if (!this.#settings.header) {
      return {
        columns: Object.entries(declared).map(([name, type]) => ({ name, type })),
        end: { line: 0, byte: 0 },
      };
    }
    const reader = new LineReader(handle, 0, 0);
    let line: Line | null;
    do line = await csvRecordLine(reader);
    while (line !== null && line.text.trim() === '');
    if (line === null) return { columns: [], end: { line: reader.lineNumber, byte: reader.offset } };
    let names: string[];
    try {
      names = parseCsv(line.text, { delimiter: this.#settings.delimiter })[0] ?? [];
    } catch (error) {
      throw new SluiceError(
        'FILE_HEADER_INVALID',
        `the header line of ${this.#settings.file} is not valid CSV: ${messageOf(error)}`,
        { cause: error },
      );
    }
    const duplicate = names.find((name, index) => names.indexOf(name) !== index);
    if (duplicate !== undefined) {
      throw new SluiceError(
        'FILE_HEADER_INVALID',
        `the header line of ${this.#settings.file} names column "${duplicate}" twice`,
      );
    }
    const unknown = Object.keys(declared).filter((name) => !names.includes(name));
    if (unknown.length > 0) {
      throw new SluiceError(
        'FILE_HEADER_INVALID',
        `"columns" declares ${unknown.map((name) => `"${name}"`).join(', ')}, but the header of ${this.#settings.file} has only ${names.map((name) => `"${name}"`).join(', ')}`,
      );
    }
    return {
      columns: names.map((name) => ({ name, type: declared[name] ?? 'string' })),
      end: { line: line.number, byte: line.end },
    };
  }

  /** Refuses a checkpoint that cannot belong to this file (past its end, or not at the start of a line). */
  async #checkResumePoint(handle: FileHandle, checkpoint: FilePosition, size: number): Promise<void> {
    const fail = (problem: string) =>
      new SluiceError(
        'FILE_CHECKPOINT_MISMATCH',
        `the checkpoint of ${this.#settings.path} says line ${checkpoint.line} ends at byte ${checkpoint.byte}, but ${problem}: ` +
          'the file was replaced or truncated. Restore the file, or delete the checkpoint to read it from the start',
      );
    if (checkpoint.byte > size) throw fail(`the file has only ${size} bytes`);
    if (checkpoint.byte === 0 || checkpoint.byte === size) return;
    const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, checkpoint.byte - 1);
    if (buffer[0] !== 0x0a) throw fail(`byte ${checkpoint.byte - 1} is not the end of a line`);
  }
}

/** Reads lines until their double quotes balance: one CSV record, whose quoted fields may span lines. */
async function csvRecordLine(reader: LineReader): Promise<Line | null> {
  const first = await reader.next();
  if (first === null || quotesIn(first.text) % 2 === 0) return first;
  let text = first.text;
  let quotes = quotesIn(text);
  let last = first;
  while (quotes % 2 === 1) {
    const next = await reader.next();
    if (next === null) break;
    // A line break inside a quoted field is part of its value, kept as the file has it.
    text += last.lineBreak + next.text;
    quotes += quotesIn(next.text);
    last = next;
  }
  return {
    text,
    number: first.number,
    last: reader.lineNumber,
    start: first.start,
    end: last.end,
    lineBreak: last.lineBreak,
  };
}

function quotesIn(text: string): number {
  let count = 0;
  for (let index = text.indexOf('"'); index >= 0; index = text.indexOf('"', index + 1)) count++;
  return count;
}

function positionOf(checkpoint: unknown): FilePosition | undefined {
  if (checkpoint === undefined) return undefined;
  const { line, byte } = (checkpoint ?? {}) as Partial<Record<string, unknown>>;
  if (
    !Number.isSafeInteger(line) ||
    !Number.isSafeInteger(byte) ||
    (line as number) < 0 ||
    (byte as number) < 0
  ) {
    throw new SluiceError(
      'CHECKPOINT_CORRUPT',
      `expected a file checkpoint { line, byte } of non-negative integers, found ${JSON.stringify(checkpoint)}`,
    );
  }
  return { line: line as number, byte: byte as number };
}

function isRow(value: Value): value is Row {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function kindOf(value: Value): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object'
    ? value.constructor.name
    : `${typeof value} ${JSON.stringify(String(value))}`;
}
