import { isAlias, isMap, isScalar, isSeq, parse, type Document, type Node } from 'yaml';
import type { ConfigPath } from '../component.js';
import { interpolateEnv, type Environment, type Interpolation } from './interpolate-env.js';
import { scalarSourceOffset } from './scalar-offset.js';
import { isSecretField, isSecretVariable, URL_PASSWORD } from './secret-names.js';

/** A problem found while reading the document, at an offset of the source text. */
export interface SourceProblem {
  readonly offset: number;
  readonly message: string;
}

interface Location {
  readonly key?: Node;
  readonly value: Node;
  readonly interpolation?: Interpolation;
}

/**
 * A YAML document as plain values, with environment variables replaced, secrets collected, and a way back from
 * any path to its place in the source.
 */
export interface YamlTree {
  readonly value: unknown;
  /** Problems found while reading: duplicate keys, non-text keys, unresolvable `${...}`. */
  readonly problems: readonly SourceProblem[];
  /** Secret values met: see `PipelineSpec.secrets`. */
  readonly secrets: ReadonlySet<string>;
  /**
   * The source offset of a path's key (`'key'`) or value (`'value'`), at `valueOffset` characters into a string
   * value. A path the document lacks maps to its nearest ancestor's key.
   */
  locate(path: ConfigPath, what: 'key' | 'value', valueOffset?: number): number;
  /** True when the value at `path` holds a `${...}` that could not be replaced (its other problems are moot). */
  unresolved(path: ConfigPath): boolean;
  /**
   * The other reading of a value that was one whole `${VAR}`: its text when it was read as a number or boolean
   * (plain scalar), or its YAML reading when it stayed text (quoted scalar); `undefined` for other values. Lets a
   * validator give `port: "${PG_PORT}"` a number and `password: ${PW}` text, as the schema wants.
   */
  alternative(path: ConfigPath): { value: unknown } | undefined;
}

/**
 * Reads a parsed document into a {@link YamlTree}. Aliases are resolved; keys are never interpolated. `lineOf`
 * gives the 1-based line of a source offset, for messages that refer to another place.
 */
export function readYamlTree(
  document: Document,
  source: string,
  env: Environment,
  lineOf: (offset: number) => number,
): YamlTree {
  const locations = new Map<string, Location>();
  const problems: SourceProblem[] = [];
  const secrets = new Set<string>();
  const active = new Set<Node>();
  const unresolved = new Set<string>();
  const alternatives = new Map<string, unknown>();

  const read = (node: Node | null, path: ConfigPath, field: string | undefined): unknown => {
    if (node === null) return null;
    if (isAlias(node)) {
      const target = node.resolve(document);
      if (target === undefined || active.has(target)) {
        problems.push({
          offset: node.range?.[0] ?? 0,
          message: `alias *${node.source} refers to nothing it may hold`,
        });
        return null;
      }
      active.add(target);
      const value = read(target, path, field);
      active.delete(target);
      return value;
    }
    if (isMap(node)) {
      const object: Record<string, unknown> = {};
      const firstKeys = new Map<string, Node>();
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        if (!isScalar(keyNode) || keyNode.value === null || typeof keyNode.value === 'object') {
          problems.push({
            offset: keyNode?.range?.[0] ?? node.range?.[0] ?? 0,
            message: 'expected a text key',
          });
          continue;
        }
        const key = scalarText(keyNode.value);
        const first = firstKeys.get(key);
        if (first !== undefined) {
          problems.push({
            offset: keyNode.range?.[0] ?? 0,
            message: `duplicate key \`${key}\` (first defined on line ${lineOf(first.range?.[0] ?? 0)})`,
          });
          continue;
        }
        firstKeys.set(key, keyNode);
        const valueNode = (pair.value as Node | null) ?? keyNode;
        const childPath = [...path, key];
        locations.set(pathKey(childPath), { key: keyNode, value: valueNode });
        const value = pair.value === null ? null : read(valueNode, childPath, key);
        Object.defineProperty(object, key, { value, enumerable: true, writable: true, configurable: true });
      }
      return object;
    }
    if (isSeq(node)) {
      return node.items.map((item, index) => {
        const childPath = [...path, index];
        const itemNode = item as Node | null;
        if (itemNode !== null) locations.set(pathKey(childPath), { value: itemNode });
        return read(itemNode, childPath, field);
      });
    }
    if (!isScalar(node)) return null;
    const literal = node.value;
    if (typeof literal !== 'string') {
      if (field !== undefined && isSecretField(field) && literal !== null) secrets.add(scalarText(literal));
      return literal;
    }
    const interpolation = literal.includes('${') ? interpolateEnv(literal, env) : undefined;
    let value: unknown = literal;
    if (interpolation !== undefined) {
      const at = locations.get(pathKey(path));
      if (at !== undefined) locations.set(pathKey(path), { ...at, interpolation });
      if (interpolation.problems.length > 0) unresolved.add(pathKey(path));
      for (const problem of interpolation.problems) {
        problems.push({ offset: scalarSourceOffset(node, source, problem.offset), message: problem.message });
      }
      for (const variable of interpolation.variables) {
        if (
          !variable.fromDefault &&
          (isSecretVariable(variable.name) || (field !== undefined && isSecretField(field)))
        ) {
          secrets.add(variable.value);
        }
      }
      value = interpolation.text;
      if (interpolation.whole && interpolation.problems.length === 0) {
        const typed = readScalar(interpolation.text);
        if (node.type === 'PLAIN') value = typed;
        if (typed !== interpolation.text)
          alternatives.set(pathKey(path), node.type === 'PLAIN' ? interpolation.text : typed);
      }
    }
    if (typeof value === 'string') {
      if (field !== undefined && isSecretField(field)) secrets.add(value);
      for (const [, , password] of value.matchAll(URL_PASSWORD)) {
        if (password) secrets.add(password).add(decodeURIComponentSafe(password));
      }
    } else if (field !== undefined && isSecretField(field) && value !== null) {
      secrets.add(scalarText(value));
    }
    return value;
  };

  const root = document.contents;
  if (root !== null) locations.set(pathKey([]), { value: root });
  const value = read(root, [], undefined);
  secrets.delete('');

  const locate = (path: ConfigPath, what: 'key' | 'value', valueOffset?: number): number => {
    for (let depth = path.length; depth >= 0; depth--) {
      const location = locations.get(pathKey(path.slice(0, depth)));
      if (location === undefined) continue;
      if (depth < path.length || what === 'key') return (location.key ?? location.value).range?.[0] ?? 0;
      const node = location.value;
      if (valueOffset !== undefined && isScalar(node) && typeof node.value === 'string') {
        const offset = location.interpolation
          ? location.interpolation.sourceOffset(valueOffset)
          : valueOffset;
        return scalarSourceOffset(node, source, offset);
      }
      return node.range?.[0] ?? 0;
    }
    return 0;
  };
  return {
    value,
    problems,
    secrets,
    locate,
    unresolved: (path) => unresolved.has(pathKey(path)),
    alternative: (path) =>
      alternatives.has(pathKey(path)) ? { value: alternatives.get(pathKey(path)) } : undefined,
  };
}

/** The text of a scalar value: a string as it is, a number or boolean as written. */
function scalarText(value: unknown): string {
  if (typeof value === 'string') return value;
  return typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint'
    ? String(value)
    : JSON.stringify(value);
}

function pathKey(path: ConfigPath): string {
  return JSON.stringify(path);
}

/** Reads the text a whole-scalar `${VAR}` gave as a YAML scalar (`5432` → number); other shapes stay text. */
function readScalar(text: string): unknown {
  try {
    const value: unknown = parse(text);
    return value !== null && typeof value === 'object' ? text : value;
  } catch {
    return text;
  }
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
