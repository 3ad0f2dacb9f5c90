import type { Writable } from 'node:stream';
import { recordRow } from '../../runtime/dead-letter.js';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import { NotConnectedError, SluiceError, messageOf } from '../../runtime/errors.js';
import { stringifyJson } from '../../runtime/json.js';
import type { ChangeRecord, Row } from '../../runtime/record.js';
import type { Sink, SinkContext, WriteResult } from '../../runtime/sink.js';

/**
 * Writes records as JSON lines to a stream (process.stdout by default), one stream write per batch. A write
 * resolves once the stream accepted the batch; when the stream's buffer is full it waits for 'drain', so a slow
 * reader slows the pipeline instead of growing memory. A stream error (a closed pipe) fails the waiting and all later
 * writes with `STDOUT_WRITE_FAILED` instead of crashing the process. The stream is never ended: it belongs to the process.
 */
export class StdoutSink implements Sink {
  readonly #stream: Writable;
  readonly #format: 'rows' | 'changes';
  #context: SinkContext | undefined;
  /** The stream's first error: every later write fails with it (a closed pipe does not reopen). */
  #failure: Error | undefined;
  /** Writes waiting for 'drain'. */
  readonly #waiting = new Set<(error?: Error) => void>();
  readonly #onError = (error: Error): void => {
    this.#failure ??= error;
    for (const settle of this.#waiting) settle(error);
  };

  /** `format`: `rows` writes the row after the change (deletes: `{ "_op": "delete", ...key }`), `changes` the whole record. */
  constructor(format: 'rows' | 'changes', stream: Writable = process.stdout) {
    this.#format = format;
    this.#stream = stream;
  }

  async connect(context: SinkContext): Promise<void> {
    if (this.#context === undefined) this.#stream.on('error', this.#onError);
    this.#context = context;
  }

  async write(records: readonly ChangeRecord[]): Promise<WriteResult> {
    const context = this.#context;
    if (context === undefined) throw new NotConnectedError('stdout sink');
    const rejected: DeadLetter[] = [];
    let text = '';
    for (const record of records) {
      try {
        text += `${stringifyJson(this.#row(record))}\n`;
      } catch (error) {
        rejected.push({
          node: context.name,
          reason: `cannot be written as JSON: ${messageOf(error)}`,
          source: { name: record.source.name, position: record.source.position },
          record,
        });
      }
    }
    if (text !== '') await this.#send(text);
    return { rejected };
  }

  async close(): Promise<void> {
    if (this.#context === undefined) return;
    this.#context = undefined;
    this.#stream.off('error', this.#onError);
  }

  #row(record: ChangeRecord): Row {
    if (this.#format === 'changes') return recordRow(record);
    if (record.op === 'delete') return { _op: 'delete', ...(record.key ?? record.before ?? {}) };
    return record.after ?? {};
  }

  #send(text: string): Promise<void> {
    const stream = this.#stream;
    if (this.#failure !== undefined) return Promise.reject(writeFailed(this.#failure));
    return new Promise<void>((resolve, reject) => {
      if (stream.write(text)) {
        resolve();
        return;
      }
      const settle = (error?: Error) => {
        stream.off('drain', drained);
        this.#waiting.delete(settle);
        if (error === undefined) resolve();
        else reject(writeFailed(error));
      };
      const drained = () => settle();
      stream.once('drain', drained);
      this.#waiting.add(settle);
    });
  }
}

function writeFailed(error: Error): SluiceError {
  return new SluiceError('STDOUT_WRITE_FAILED', `could not write to standard output: ${messageOf(error)}`, { cause: error });
}
