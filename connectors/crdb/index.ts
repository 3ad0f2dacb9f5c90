export { CHANGEFEED_ENVELOPES, type ChangefeedEnvelope } from './changefeed-envelope.js';
export { ChangefeedDecodeError } from './changefeed-decode-error.js';
export type { ChangefeedDecodeOptions } from './changefeed-decode-options.js';
export type { ChangefeedEvent } from './changefeed-event.js';
export { decodeChangefeedMessage, type ChangefeedMessage } from './decode-changefeed-message.js';
export { decodeSinklessRow, type SinklessRow } from './decode-sinkless-row.js';
export { decodeWebhookBody } from './decode-webhook-body.js';
export { detectEnvelope } from './detect-envelope.js';
export { Hlc } from './hlc.js';
