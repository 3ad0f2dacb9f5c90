import type { ConfigPath } from '../component.js';
import type { Edge } from '../pipeline-spec.js';
import { closeMatch } from './did-you-mean.js';

/** A node as the graph check sees it: its kind, and each `from` entry with the path to point at. */
export interface GraphNode {
  readonly name: string;
  readonly kind: 'source' | 'operator' | 'sink';
  /** The node's path in the config (`['sinks', 'out']`). */
  readonly path: ConfigPath;
  readonly from: readonly { readonly edge: Edge; readonly path: ConfigPath }[];
  /** True when an operator or sink has no usable `from` (absent or malformed): what it reads is unknown. */
  readonly fromMissing: boolean;
}

/** A problem with the shape of the graph, at a path of the config. */
export interface GraphProblem {
  readonly path: ConfigPath;
  readonly at: 'key' | 'value';
  readonly message: string;
}

/**
 * Checks the graph the nodes' `from` entries draw: each names an existing source or operator (a sink produces
 * nothing; a source has no branches), there are no cycles, every operator and sink is reachable from a source,
 * and every source and operator feeds something.
 */
export function validateGraph(nodes: readonly GraphNode[]): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const byName = new Map<string, GraphNode>();
  for (const node of nodes) if (!byName.has(node.name)) byName.set(node.name, node);
  const producers = nodes.filter((node) => node.kind !== 'sink').map((node) => node.name);
  const upstream = new Map<string, { target: string; path: ConfigPath }[]>();
  const consumed = new Set<string>();
  const withBrokenEdges = new Set(nodes.filter((node) => node.fromMissing).map((node) => node.name));

  for (const node of nodes) {
    const valid: { target: string; path: ConfigPath }[] = [];
    for (const { edge, path } of node.from) {
      const target = byName.get(edge.node);
      if (target === undefined) {
        const suggestion = closeMatch(edge.node, producers);
        if (suggestion !== undefined) consumed.add(suggestion);
        const hint =
          suggestion !== undefined
            ? ` (did you mean \`${suggestion}\`?)`
            : producers.length > 0
              ? `; nodes that produce records: ${producers.join(', ')}`
              : '';
        problems.push({ path, at: 'value', message: `unknown node \`${edge.node}\` in \`from\`${hint}` });
        withBrokenEdges.add(node.name);
      } else if (target.kind === 'sink') {
        problems.push({
          path,
          at: 'value',
          message: `\`${edge.node}\` is a sink: sinks produce no records to read`,
        });
        withBrokenEdges.add(node.name);
      } else if (target.kind === 'source' && edge.branch !== undefined) {
        problems.push({
          path,
          at: 'value',
          message: `\`${edge.node}\` is a source and has no branches: write \`from: ${edge.node}\``,
        });
        withBrokenEdges.add(node.name);
      } else {
        valid.push({ target: target.name, path });
        consumed.add(target.name);
      }
    }
    upstream.set(node.name, valid);
  }

  // When some node's `from` is missing, what it meant to read is unknown: dead ends may be its doing.
  const readersUnknown = nodes.some((node) => node.fromMissing);
  const inCycle = findCycles(nodes, upstream, problems);

  const reachable = new Set<string>();
  const downstream = new Map<string, string[]>();
  for (const [name, edges] of upstream) {
    for (const { target } of edges) downstream.set(target, [...(downstream.get(target) ?? []), name]);
  }
  const tainted = new Set(withBrokenEdges);
  for (const name of tainted) for (const next of downstream.get(name) ?? []) tainted.add(next);
  const queue = nodes.filter((node) => node.kind === 'source').map((node) => node.name);
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (reachable.has(name)) continue;
    reachable.add(name);
    queue.push(...(downstream.get(name) ?? []));
  }

  for (const node of nodes) {
    if (
      node.kind !== 'source' &&
      !reachable.has(node.name) &&
      !inCycle.has(node.name) &&
      !tainted.has(node.name)
    ) {
      problems.push({
        path: node.path,
        at: 'key',
        message: `${node.kind} \`${node.name}\` is reachable from no source`,
      });
    }
    if (node.kind !== 'sink' && !consumed.has(node.name) && !readersUnknown) {
      problems.push({
        path: node.path,
        at: 'key',
        message: `${node.kind} \`${node.name}\` feeds nothing: no operator or sink names it in \`from\``,
      });
    }
  }
  return problems;
}

/** Reports each cycle once, named in the direction records flow; returns the names of the nodes in cycles. */
function findCycles(
  nodes: readonly GraphNode[],
  upstream: ReadonlyMap<string, readonly { target: string; path: ConfigPath }[]>,
  problems: GraphProblem[],
): Set<string> {
  const inCycle = new Set<string>();
  const done = new Set<string>();
  const reported = new Set<string>();
  const stack: string[] = [];
  const declared = nodes.map((node) => node.name);
  const visit = (name: string): void => {
    stack.push(name);
    for (const { target } of upstream.get(name) ?? []) {
      const onStack = stack.indexOf(target);
      if (onStack !== -1) {
        const members = stack.slice(onStack);
        const id = [...members].sort().join('\u0000');
        for (const member of members) inCycle.add(member);
        if (!reported.has(id)) {
          reported.add(id);
          // Named from the member declared first, pointing at its `from` entry that closes the cycle.
          const first = members.indexOf(declared.find((candidate) => members.includes(candidate))!);
          const feeder = members[(first + 1) % members.length]!;
          const flow = [...members.slice(0, first + 1).reverse(), ...members.slice(first + 1).reverse()];
          const path = upstream.get(members[first]!)!.find((edge) => edge.target === feeder)!.path;
          problems.push({ path, at: 'value', message: `cycle: ${[...flow, flow[0]].join(' → ')}` });
        }
      } else if (!done.has(target)) {
        visit(target);
      }
    }
    stack.pop();
    done.add(name);
  };
  for (const node of nodes) if (!done.has(node.name)) visit(node.name);
  return inCycle;
}
