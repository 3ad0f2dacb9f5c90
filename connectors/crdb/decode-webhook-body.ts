import { ChangefeedDecodeError } from './changefeed-decode-error.js';
import type { ChangefeedDecodeOptions } from './changefeed-decode-options.js';
import type { ChangefeedEvent } from './changefeed-event.js';
import { decodeChangefeedValue } from './decode-changefeed-value.js';
import { describeValue, isRow } from './json-shapes.js';
import { readJsonMessage } from './read-json-message.js';
import { readResolved } from './read-resolved.js';

/**
 * Decodes the body of one webhook-sink POST into its events, in order. A batch body is
 * `{"payload": [msg, ...], "length": N}` where `length` must equal the number of messages; each message is a
 * value of the feed's envelope carrying its own `key` and `topic` (the webhook sink turns on `key_in_value` and
 * `topic_in_value`), decoded as by `decodeChangefeedMessage` at position `<position>#<index>`. A resolved body is
 * `{"resolved": "<hlc>"}` (or `{"__crdb__": {"resolved": ...}}`) and gives one resolved event.
 * `headers` (e.g. kept HTTP headers) are copied into every record. Throws {@link ChangefeedDecodeError}.
 */
export function decodeWebhookBody(
  body: Uint8Array | string,
  options: ChangefeedDecodeOptions,
  headers?: Readonly<Record<string, string>>,
): ChangefeedEvent[] {
  const position = options.position;
  const parsed = readJsonMessage(body, 'webhook body', position);
  if (isRow(parsed) && Array.isArray(parsed.payload)) {
    const messages = parsed.payload;
    const length = parsed.length;
    if (length !== messages.length) {
      throw new ChangefeedDecodeError(
        `expected "length" of the webhook body to equal the ${messages.length} messages in "payload", got ${describeValue(length)}`,
        position,
      );
    }
    return messages.map((message, index) =>
      decodeChangefeedValue(message, undefined, { options, position: `${position}#${index}`, headers }),
    );
  }
  const resolved = readResolved(parsed, 'auto', position);
  if (resolved) return [{ kind: 'resolved', hlc: resolved }];
  throw new ChangefeedDecodeError(
    `expected a webhook body {"payload": [...], "length": N} or a resolved timestamp {"resolved": "<hlc>"}, got ${describeValue(parsed)}`,
    position,
  );
}
