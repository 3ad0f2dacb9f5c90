export { generateSource } from './source.js';
