import { createHash } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointStore } from './checkpoint-store.js';
import { SluiceError, messageOf } from './errors.js';
import { parseJson, stringifyJson } from './json.js';
import type { Row, Value } from './record.js';

/** Longest file name (before `.json`) a key becomes as is; longer keys are shortened and get a hash suffix. */
const MAX_NAME_LENGTH = 180;

/** Characters a key keeps in its file name. */
const SAFE_CHARACTER = /^[A-Za-z0-9_-]$/;

/** The file listing every key the directory has held a checkpoint for (no key's file name starts with `~`). */
const KEYS_FILE = '~keys.json';

/**
 * Checkpoints as files: one file per key under a directory, each written atomically (temporary file, fsync,
 * rename, fsync of the directory) so a crash leaves the old or the new checkpoint, never a torn one.
 *
 * A file holds `{ "version": 1, "checkpoint": ..., "sha256": "<hex>", "saved_at": "<ISO>" }`, where `sha256` is
 * the hash of the checkpoint's canonical text (lossless JSON with object keys sorted at every level). A file that
 * does not parse or fails its checksum makes `load` reject with `CHECKPOINT_CORRUPT`; it is never reset silently.
 * Every key that ever had a checkpoint here is listed in `~keys.json` (a JSON array, plain to edit), so a checkpoint
 * file deleted later makes `load` reject with `CHECKPOINT_MISSING` instead of starting over; a key neither listed
 * nor on disk is new. To start one source over, delete its file and take its key off the list.
 * Saves of one key are serialised in call order (the last call wins); `load` waits for pending saves of its key.
 */
export class FileCheckpointStore implements CheckpointStore {
  /** The directory holding the checkpoint files. */
  readonly directory: string;
  readonly #tails = new Map<string, Promise<void>>();
  /** The keys listed in `~keys.json`, read once. */
  #known: Promise<Set<string>> | undefined;
  /** Writes of `~keys.json`, one at a time. */
  #keysTail: Promise<void> = Promise.resolve();
  #temporaries = 0;
  #closed = false;

  constructor(directory: string) {
    this.directory = directory;
  }

  /** The file that holds `key`'s checkpoint (the key made safe as a file name; distinct keys give distinct files). */
  fileOf(key: string): string {
    return join(this.directory, `${fileNameOf(key)}.json`);
  }

  async load(key: string): Promise<unknown> {
    this.#assertOpen();
    await this.#tails.get(key);
    const file = this.fileOf(key);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (!isNotFound(error)) throw readFailed(file, error);
      if (!(await this.#knownKeys()).has(key)) return undefined;
      throw new SluiceError(
        'CHECKPOINT_MISSING',
        `checkpoint file ${file} is missing, though "${key}" saved a checkpoint there before. Sluice will not ` +
          `guess where to resume: restore the file from a backup, or remove "${key}" from ${this.#keysFile} to ` +
          "start over from the source's configured start",
      );
    }
    const checkpoint = checkpointIn(text, file, this.#startOver(key));
    // Files saved before the list existed join it when first read.
    await this.#remember(key);
    return checkpoint;
  }

  save(key: string, checkpoint: unknown): Promise<void> {
    this.#assertOpen();
    const text = canonicalText(checkpoint, key);
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(() => this.#write(key, checkpoint as Value, text));
    const tail = next.catch(() => undefined);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return next;
  }

  /** Waits for pending saves; later calls to `load` and `save` reject. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#tails.values());
  }

  async #write(key: string, checkpoint: Value, text: string): Promise<void> {
    const content: Row = {
      version: 1,
      checkpoint,
      sha256: sha256(text),
      saved_at: new Date().toISOString(),
    };
    await this.#writeAtomically(this.fileOf(key), `${stringifyJson(content)}\n`, `checkpoint "${key}"`);
    await this.#remember(key);
  }

  /** How to start `key` over, for error messages. */
  #startOver(key: string): string {
    return `delete it and remove "${key}" from ${this.#keysFile} to start over from the source's configured start`;
  }

  get #keysFile(): string {
    return join(this.directory, KEYS_FILE);
  }

  #knownKeys(): Promise<Set<string>> {
    this.#known ??= this.#readKeys();
    return this.#known;
  }

  async #readKeys(): Promise<Set<string>> {
    const file = this.#keysFile;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if (isNotFound(error)) return new Set();
      this.#known = undefined;
      throw readFailed(file, error);
    }
    let keys: unknown;
    try {
      keys = JSON.parse(text);
    } catch {
      keys = undefined;
    }
    if (!Array.isArray(keys) || !keys.every((key) => typeof key === 'string')) {
      throw new SluiceError(
        'CHECKPOINT_CORRUPT',
        `checkpoint key list ${file} is corrupt: expected a JSON array of keys. Restore it from a backup, fix it, ` +
          'or delete it (checkpoint files deleted since then can then no longer be told from new ones)',
      );
    }
    return new Set(keys);
  }

  /** Adds `key` to `~keys.json` when it is not listed yet. */
  async #remember(key: string): Promise<void> {
    const known = await this.#knownKeys();
    if (known.has(key)) return;
    known.add(key);
    const write = this.#keysTail.then(() =>
      this.#writeAtomically(
        this.#keysFile,
        `${JSON.stringify([...known].sort(), null, 2)}\n`,
        'the checkpoint key list',
      ),
    );
    this.#keysTail = write.catch(() => undefined);
    try {
      await write;
    } catch (error) {
      known.delete(key);
      throw error;
    }
  }

  /** Replaces `file` with `content`: a temporary file, fsync, rename, fsync of the directory. */
  async #writeAtomically(file: string, content: string, what: string): Promise<void> {
    const temporary = `${file}.${process.pid}.${this.#temporaries++}.tmp`;
    try {
      await mkdir(this.directory, { recursive: true });
      const handle = await open(temporary, 'w');
      try {
        await handle.writeFile(content, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temporary, file);
      await syncDirectory(this.directory);
    } catch (error) {
      await rm(temporary, { force: true });
      throw new SluiceError(
        'CHECKPOINT_SAVE_FAILED',
        `could not save ${what} to ${file}: ${messageOf(error)}`,
        {
          retriable: true,
          cause: error,
        },
      );
    }
  }

  #assertOpen(): void {
    if (this.#closed)
      throw new SluiceError('CHECKPOINT_STORE_CLOSED', `the checkpoint store in ${this.directory} is closed`);
  }
}

/** A failed read of `file`, retriable. */
function readFailed(file: string, error: unknown): SluiceError {
  return new SluiceError(
    'CHECKPOINT_READ_FAILED',
    `could not read checkpoint file ${file}: ${messageOf(error)}`,
    {
      retriable: true,
      cause: error,
    },
  );
}

/** The checkpoint held by a file's text, after checking its shape and checksum; `startOver` says how to go on. */
function checkpointIn(text: string, file: string, startOver: string): unknown {
  const corrupt = (problem: string, cause?: unknown): SluiceError =>
    new SluiceError(
      'CHECKPOINT_CORRUPT',
      `checkpoint file ${file} is corrupt: ${problem}. Sluice will not guess where to resume: restore the file from a ` +
        `backup, or ${startOver}`,
      { cause },
    );
  let content: Value;
  try {
    content = parseJson(text);
  } catch (error) {
    throw corrupt(`expected JSON, but it does not parse (${messageOf(error)})`, error);
  }
  if (!isRow(content)) throw corrupt(`expected a JSON object, found ${describe(content)}`);
  if (content.version !== 1) throw corrupt(`expected "version": 1, found ${describe(content.version)}`);
  if (!('checkpoint' in content)) throw corrupt('it has no "checkpoint" field');
  const stored = content.sha256;
  if (typeof stored !== 'string') throw corrupt(`expected a "sha256" text, found ${describe(stored)}`);
  const actual = sha256(canonicalText(content.checkpoint, file));
  if (actual !== stored)
    throw corrupt(`the checkpoint's sha256 is ${actual}, but the file records ${stored}`);
  return content.checkpoint;
}

/** Lossless JSON of a checkpoint with object keys sorted at every level: the text its checksum covers. */
function canonicalText(checkpoint: unknown, where: string): string {
  let text: string | undefined;
  try {
    text = stringifyJson(sortKeys(checkpoint as Value));
  } catch (error) {
    throw new SluiceError(
      'CHECKPOINT_INVALID',
      `checkpoint "${where}" cannot be stored as JSON: ${messageOf(error)}`,
      { cause: error },
    );
  }
  if (text === undefined)
    throw new SluiceError(
      'CHECKPOINT_INVALID',
      `checkpoint "${where}" is ${String(checkpoint)}, which JSON cannot hold`,
    );
  return text;
}

function sortKeys(value: Value): Value {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isRow(value)) return value;
  const sorted: Row = {};
  for (const key of Object.keys(value).sort()) sorted[key] = sortKeys(value[key]!);
  return sorted;
}

function isRow(value: unknown): value is Row {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function describe(value: Value | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(String(value))}`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * A key as a file name: letters, digits, `_`, `-` and `.` (except a leading one) stay; every other character
 * becomes `%` and its UTF-8 bytes in hex, so distinct keys never share a file. Overlong names keep their start and
 * end with a hash of the whole key.
 */
function fileNameOf(key: string): string {
  let name = '';
  for (const char of key) {
    if (SAFE_CHARACTER.test(char) || (char === '.' && name !== '')) name += char;
    else for (const byte of Buffer.from(char, 'utf8')) name += `%${byte.toString(16).padStart(2, '0')}`;
  }
  if (name.length <= MAX_NAME_LENGTH) return name;
  return `${name.slice(0, 100)}~${sha256(key).slice(0, 32)}`;
}

async function syncDirectory(directory: string): Promise<void> {
  // Windows cannot open a directory for fsync; its rename is already durable enough there.
  if (process.platform === 'win32') return;
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
