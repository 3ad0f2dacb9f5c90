export { ConfigError, type ConfigProblem } from './config-error.js';
export { DURATION_PATTERN, parseDuration } from './duration.js';
export type { Environment } from './interpolate-env.js';
export { loadPipeline } from './load-pipeline.js';
export { parsePipeline, type LoadPipelineOptions } from './parse-pipeline.js';
export { pipelineJsonSchema } from './pipeline-json-schema.js';
export { PIPELINE_SCHEMA } from './pipeline-schema.js';
export { parseSize, SIZE_PATTERN } from './size.js';
