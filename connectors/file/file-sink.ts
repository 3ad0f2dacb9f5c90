import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import { NotConnectedError, SluiceError, messageOf } from '../../runtime/errors.js';
import { stringifyJson } from '../../runtime/json.js';
import type { ChangeRecord } from '../../runtime/record.js';
import type { Sink, SinkContext, WriteResult } from '../../runtime/sink.js';
import { outputRow } from './output-row.js';

/** The settings of a {@link FileSink}, resolved from its config. */
export interface FileSinkSettings {
  /** Absolute path of the file. */
  readonly file: string;
  /** What each line holds (see {@link outputRow}). */
  readonly format: 'rows' | 'changes';
  /** Flush each batch to disk (fdatasync) before the write resolves. */
  readonly fsync: boolean;
}

/** What one `connect` opened. */
interface Session {
  readonly context: SinkContext;
  readonly handle: FileHandle;
}

/**
 * Appends records to a file as JSON lines, one append of one buffer per batch. Writes are serialised in call
 * order; a failed append is cut off again (the file is truncated to its size before it), so a retried batch is
 * not half-written twice. A record whose values JSON cannot hold (NaN, Infinity) is returned as rejected.
 */
export class FileSink implements Sink {
  readonly #settings: FileSinkSettings;
  #session: Session | undefined;
  /** The file's size after the last successful append. */
  #size = 0;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(settings: FileSinkSettings) {
    this.#settings = settings;
  }

  async connect(context: SinkContext): Promise<void> {
    const { file } = this.#settings;
    try {
      await mkdir(dirname(file), { recursive: true });
      const handle = await open(file, 'a');
      this.#size = (await handle.stat()).size;
      this.#session = { context, handle };
    } catch (error) {
      throw new SluiceError('FILE_OPEN_FAILED', `could not open ${file} for appending: ${messageOf(error)}`, { retriable: true, cause: error });
    }
  }

  write(records: readonly ChangeRecord[]): Promise<WriteResult> {
    const session = this.#session;
    if (session === undefined) return Promise.reject(new NotConnectedError(`file sink writing ${this.#settings.file}`));
    const rejected: DeadLetter[] = [];
    let text = '';
    for (const record of records) {
      try {
        text += `${stringifyJson(outputRow(record, this.#settings.format))}\n`;
      } catch (error) {
        rejected.push({
          node: session.context.name,
          reason: `cannot be written as JSON: ${messageOf(error)}`,
          source: { name: record.source.name, position: record.source.position },
          record,
        });
      }
    }
    const written = this.#tail.then(() => (text === '' ? undefined : this.#append(session.handle, Buffer.from(text, 'utf8'))));
    this.#tail = written.catch(() => undefined);
    return written.then(() => ({ rejected }));
  }

  async close(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    await this.#tail;
    await session.handle.close();
  }

  async #append(handle: FileHandle, buffer: Buffer): Promise<void> {
    try {
      for (let offset = 0; offset < buffer.length; ) {
        offset += (await handle.write(buffer, offset, buffer.length - offset)).bytesWritten;
      }
      if (this.#settings.fsync) await handle.datasync();
      this.#size += buffer.length;
    } catch (error) {
      await handle.truncate(this.#size).catch(() => undefined);
      throw new SluiceError('FILE_WRITE_FAILED', `could not append ${buffer.length} bytes to ${this.#settings.file}: ${messageOf(error)}`, {
        retriable: true,
        cause: error,
      });
    }
  }
}
