import { readFile } from 'node:fs/promises';
import type { ComponentRegistry } from '../component.js';
import { SluiceError } from '../errors.js';
import type { PipelineSpec } from '../pipeline-spec.js';
import { parsePipeline, type LoadPipelineOptions } from './parse-pipeline.js';

/**
 * Reads a pipeline YAML file and validates it into a {@link PipelineSpec} (see `parsePipeline` for what is
 * checked). Throws `ConfigError` (`CONFIG_INVALID`) listing every problem with its `FILE:LINE:COL`, or
 * `SluiceError` `CONFIG_UNREADABLE` when the file cannot be read.
 */
export async function loadPipeline(
  file: string,
  registry: ComponentRegistry,
  options: LoadPipelineOptions = {},
): Promise<PipelineSpec> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    throw new SluiceError(
      'CONFIG_UNREADABLE',
      `expected a readable pipeline file at ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return parsePipeline(source, file, registry, options);
}
