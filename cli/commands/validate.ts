import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { ConfigPath } from '../../runtime/component.js';
import { ConfigError, loadPipeline, type ConfigProblem } from '../../runtime/config/index.js';
import { readYamlTree } from '../../runtime/config/yaml-tree.js';
import { messageOf } from '../../runtime/errors.js';
import type { PipelineSpec } from '../../runtime/pipeline-spec.js';
import { redact } from '../../runtime/redact.js';
import { CONNECTION_CHECKS } from '../connection-checks.js';
import { EXIT } from '../exit-codes.js';
import { defaultRegistry } from '../registry.js';

/** Options of {@link validateCommand}. */
export interface ValidateOptions {
  /** After the offline checks, connect to each database the config names (see `CONNECTION_CHECKS`). */
  readonly connect?: boolean;
}

/**
 * `sluice validate [--connect] FILE`: exit 0 when valid; otherwise every problem as `FILE:LINE:COL: message` and
 * exit 2. With `connect`, a valid config's nodes that have a connection check (`CONNECTION_CHECKS`: Postgres,
 * CockroachDB, Kafka, schema registries) are then checked against their servers, each problem reported at its
 * node's option.
 */
export async function validateCommand(file: string, options: ValidateOptions = {}): Promise<number> {
  let spec: PipelineSpec;
  try {
    spec = await loadPipeline(resolve(file), defaultRegistry(), { env: process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.format());
      return EXIT.invalidConfig;
    }
    throw error;
  }
  const nodes = spec.sources.length + spec.operators.length + spec.sinks.length;
  let checked = 0;
  if (options.connect === true) {
    const targets = [...spec.sources, ...spec.sinks, ...(spec.dlq === null ? [] : [spec.dlq])].filter(
      (node) => CONNECTION_CHECKS.has(node.type),
    );
    checked = targets.length;
    const found = await Promise.all(
      targets.map(async (node) => {
        const check = CONNECTION_CHECKS.get(node.type)!;
        try {
          return (await check(node.options, { configDir: spec.configDir })).map((issue) => ({
            ...issue,
            path: [...node.origin.path, ...issue.path],
          }));
        } catch (error) {
          return [{ path: node.origin.path, message: `could not check the connection: ${messageOf(error)}` }];
        }
      }),
    );
    const issues = found.flat();
    if (issues.length > 0) {
      console.error(new ConfigError(await locate(file, spec, issues)).format());
      return EXIT.invalidConfig;
    }
  }
  const connected =
    options.connect === true ? `; ${checked} connection${checked === 1 ? '' : 's'} checked` : '';
  console.log(`${file}: valid (pipeline ${spec.name}, ${nodes} nodes${connected})`);
  return EXIT.ok;
}

/** Places issues (paths from the document's root) at their line and column, with secrets hidden. */
async function locate(
  file: string,
  spec: PipelineSpec,
  issues: readonly { path: ConfigPath; message: string }[],
): Promise<ConfigProblem[]> {
  const source = await readFile(spec.configFile, 'utf8');
  const lineCounter = new LineCounter();
  const document = parseDocument(source, { lineCounter, uniqueKeys: false, prettyErrors: false });
  const position = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line: Math.max(line, 1), column: Math.max(col, 1) };
  };
  const tree = readYamlTree(document, source, process.env, (offset) => position(offset).line);
  return issues.map((issue) => ({
    file,
    ...position(tree.locate(issue.path, 'value')),
    message: redact(`${issue.path.join('.')}: ${issue.message}`, spec.secrets),
  }));
}
