import type { ComponentRegistry, ConfigPath } from '../component.js';
import type { Edge } from '../pipeline-spec.js';

/** A checked node of the graph, as {@link circularWatermarkWaits} reads it. */
export interface WatermarkNode {
  readonly kind: 'source' | 'operator' | 'sink' | 'dlq' | 'checkpoints';
  readonly name: string;
  readonly type: string;
  readonly from: readonly Edge[];
  readonly options: unknown;
  readonly path: ConfigPath;
}

/** A sink that would wait for a watermark its source sends only after that very wait ends. */
export interface WatermarkWaitProblem {
  /** Where the sink's config asks for the wait (e.g. `sinks.target.consistency`). */
  readonly path: ConfigPath;
  readonly message: string;
}

/**
 * Sinks that acknowledge records only once a watermark covers them (`acksAwaitWatermarks`) fed, through any
 * operators, by a source whose watermarks come only once its batches are acknowledged (`watermarksAwaitAcks`):
 * each would wait for the other until the in-flight budget stalls, so such a pipeline is refused before it runs.
 */
export function circularWatermarkWaits(
  nodes: readonly WatermarkNode[],
  registry: ComponentRegistry,
): WatermarkWaitProblem[] {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const problems: WatermarkWaitProblem[] = [];
  for (const sink of nodes) {
    if (sink.kind !== 'sink') continue;
    const waitsAt = registry.sinks.get(sink.type)?.acksAwaitWatermarks?.(sink.options);
    if (waitsAt === undefined) continue;
    for (const source of upstreamSources(sink, byName)) {
      if (registry.sources.get(source.type)?.watermarksAwaitAcks !== true) continue;
      problems.push({
        path: [...sink.path, ...waitsAt],
        message:
          `sink "${sink.name}" acknowledges records only once a watermark covers them, and source "${source.name}" ` +
          `(${source.type}) sends watermarks only once its earlier records are acknowledged: they would wait for each ` +
          'other. Acknowledge as written here (for a postgres sink, consistency: per_key), or read the feed through a ' +
          'source whose watermarks do not wait (crdb_kafka, crdb_sinkless)',
      });
    }
  }
  return problems;
}

/** The sources `node` reads from, directly or through operators, each once. */
function upstreamSources(node: WatermarkNode, byName: ReadonlyMap<string, WatermarkNode>): WatermarkNode[] {
  const seen = new Set<string>();
  const sources: WatermarkNode[] = [];
  const visit = (edges: readonly Edge[]): void => {
    for (const { node: name } of edges) {
      if (seen.has(name)) continue;
      seen.add(name);
      const upstream = byName.get(name);
      if (upstream === undefined) continue;
      if (upstream.kind === 'source') sources.push(upstream);
      else visit(upstream.from);
    }
  };
  visit(node.from);
  return sources;
}
