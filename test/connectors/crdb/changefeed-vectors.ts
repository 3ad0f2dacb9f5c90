import { readFileSync } from 'node:fs';
import { isLosslessNumber, parse as parseLossless } from 'lossless-json';

/** One recorded CockroachDB changefeed message (see fixtures/changefeed-vectors.jsonl, copied from the shared set). */
export interface ChangefeedVector {
  /** 1-based line number in the fixture, for test names. */
  readonly line: number;
  readonly envelope: 'wrapped' | 'bare' | 'key_only' | 'row' | 'enriched';
  readonly kind: 'insert' | 'update' | 'delete' | 'resolved';
  /** The Kafka / sinkless message key, as JSON-decoded by the fixture's author. */
  readonly key: unknown;
  /** The value, JSON-decoded by the fixture's author (numbers may have lost digits). */
  readonly value: unknown;
  /** The exact value text: what the decoder is given. Empty = empty Kafka value. */
  readonly value_raw: string;
  readonly topic?: string;
  readonly options?: string;
  readonly format?: 'avro';
  readonly framing?: 'webhook_batch';
  readonly sinkless_row?: { table: string | null; key?: null };
  readonly note?: string;
}

/** Every vector in the fixture. */
export function loadChangefeedVectors(): ChangefeedVector[] {
  const text = readFileSync(new URL('./fixtures/changefeed-vectors.jsonl', import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, index) => ({ ...(JSON.parse(line) as Omit<ChangefeedVector, 'line'>), line: index + 1 }));
}

/** `value_raw` parsed so that every number keeps its exact text (a LosslessNumber): the digit oracle. */
export function rawDigits(vector: ChangefeedVector): unknown {
  return vector.value_raw === '' ? undefined : parseLossless(vector.value_raw);
}

/** The exact text of a number parsed by {@link rawDigits}, or undefined when `value` is not one. */
export function numberText(value: unknown): string | undefined {
  return isLosslessNumber(value) ? value.value : undefined;
}
