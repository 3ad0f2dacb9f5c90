export { nullSink } from './sink.js';
export { NullSink } from './null-sink.js';
