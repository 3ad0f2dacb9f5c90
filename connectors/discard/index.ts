export { discardSink } from './sink.js';
export { DiscardSink } from './discard-sink.js';
