import { messageOf } from '../../runtime/errors.js';
import { parseJson } from '../../runtime/json.js';
import type { Value } from '../../runtime/record.js';
import { ChangefeedDecodeError } from './changefeed-decode-error.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses one part of a message (a Kafka key or value, a sinkless column, a webhook body) as lossless JSON.
 * Returns `undefined` for an absent or empty part (a tombstone); throws {@link ChangefeedDecodeError} for bytes
 * that are not UTF-8 JSON. `what` names the part in messages (`"value"`, `"key"`).
 */
export function readJsonMessage(
  data: Uint8Array | string | null | undefined,
  what: string,
  position: string,
): Value | undefined {
  if (data === null || data === undefined || data.length === 0) return undefined;
  let text: string;
  if (typeof data === 'string') {
    text = data;
  } else {
    try {
      text = UTF8.decode(data);
    } catch (cause) {
      throw new ChangefeedDecodeError(
        `expected the ${what} to be UTF-8 JSON, got ${data.length} bytes that are not valid UTF-8`,
        position,
        { cause },
      );
    }
  }
  try {
    return parseJson(text);
  } catch (cause) {
    const shown = text.length > 60 ? `${text.slice(0, 60)}…` : text;
    throw new ChangefeedDecodeError(
      `expected the ${what} to be JSON, got ${JSON.stringify(shown)} (${messageOf(cause)})`,
      position,
      { cause },
    );
  }
}
