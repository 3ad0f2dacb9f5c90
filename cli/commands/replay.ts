import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { SluiceError } from '../../runtime/errors.js';
import type { PipelineSpec } from '../../runtime/pipeline-spec.js';
import { defaultRegistry } from '../registry.js';
import { runCommand, type RunOptions } from './run.js';

/** Options of `sluice replay`. */
export interface ReplayOptions extends Pick<RunOptions, 'logLevel' | 'env'> {
  /** The source whose place the DLQ file takes (needed when the pipeline has several). */
  readonly source?: string | undefined;
}

/**
 * The pipeline with one source replaced by a `file` source reading the dead-letter file's original records, with
 * a fresh checkpoint directory in place of its checkpoint store (a `checkpoints:` table too, whose rows the replay
 * must neither read nor overwrite), so records that failed before run through the (fixed) pipeline again. Refuses to
 * read the file the pipeline's own DLQ writes to: records failing again would be appended to what is being read.
 */
export async function replaySpec(spec: PipelineSpec, dlqFile: string, sourceName: string | undefined): Promise<PipelineSpec> {
  const name = sourceName ?? (spec.sources.length === 1 ? spec.sources[0]!.name : undefined);
  const replaced = spec.sources.find((source) => source.name === name);
  if (!replaced) {
    const known = spec.sources.map((source) => source.name).join(', ');
    throw new SluiceError(
      'REPLAY_SOURCE_UNKNOWN',
      name === undefined
        ? `the pipeline has several sources (${known}): name the one the dead letters came from with --source`
        : `the pipeline has no source \`${name}\` (sources: ${known})`,
    );
  }
  const path = resolve(dlqFile);
  const dlqPath = spec.dlq?.type === 'file' ? resolve(spec.configDir, String(spec.dlq.options.path)) : undefined;
  if (dlqPath === path) {
    throw new SluiceError(
      'REPLAY_FROM_OWN_DLQ',
      `${dlqFile} is where this pipeline writes its dead letters; move it aside first (mv ${dlqFile} ${dlqFile}.replay) and replay that`,
    );
  }
  const fileSource = defaultRegistry().sources.get('file')!;
  const options = Value.Default(fileSource.schema as TSchema, { path, format: 'jsonl', records: 'changes' }) as Record<string, unknown>;
  const stateDir = await mkdtemp(join(tmpdir(), 'sluice-replay-'));
  return {
    ...spec,
    sources: spec.sources.map((source) => (source === replaced ? { ...source, type: 'file', options } : source)),
    runtime: { ...spec.runtime, stateDir },
    checkpoints: undefined,
  };
}

/**
 * `sluice replay DLQ_FILE PIPELINE`: sends the original records kept in a dead-letter file back through the
 * pipeline (after a fix to its rules or target), in place of one of its sources. Records that fail again go to
 * the pipeline's DLQ as usual.
 */
export async function replayCommand(dlqFile: string, pipelineFile: string, options: ReplayOptions = {}): Promise<number> {
  return runCommand(pipelineFile, { ...options, adjustSpec: (spec) => replaySpec(spec, dlqFile, options.source) });
}
