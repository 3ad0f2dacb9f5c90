export { fileSink } from './sink.js';
export { fileSource } from './source.js';
