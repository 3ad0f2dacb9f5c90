export { stdoutSink } from './sink.js';
