import type { ComponentRegistry } from '../component.js';
import { closeObjectSchemas } from './close-object-schemas.js';
import { PIPELINE_SCHEMA } from './pipeline-schema.js';

type JsonSchema = Record<string, unknown>;
type Kind = 'source' | 'operator' | 'sink' | 'dlq' | 'checkpoints';

/** What the schema needs of a component definition. */
interface Described {
  readonly type: string;
  readonly summary: string;
  readonly schema: object;
}

/**
 * A JSON Schema (draft-07) of a whole pipeline file for editors: the envelope, and each node's options selected
 * by its `type` (`if`/`then`), with descriptions from the components' `summary` and schemas. `sluice schema`
 * prints it. Values written as `${VAR}` are not understood by it.
 */
export function pipelineJsonSchema(registry: ComponentRegistry): JsonSchema {
  const plain = (schema: object): JsonSchema => JSON.parse(JSON.stringify(schema)) as JsonSchema;
  const nodes = (kind: Kind, description: string, minProperties: number): JsonSchema => ({
    type: 'object',
    description,
    minProperties,
    propertyNames: { pattern: PIPELINE_SCHEMA.nodeName },
    additionalProperties: { $ref: `#/definitions/${kind}` },
  });
  const envelope = plain(PIPELINE_SCHEMA.envelope);
  const properties = envelope.properties as Record<string, JsonSchema>;
  // A registry without checkpoint store types leaves the section out: the loader refuses any `type` in it.
  const checkpointStores: ReadonlyMap<string, Described> = registry.checkpointStores ?? new Map();
  const withCheckpoints = checkpointStores.size > 0;
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'Sluice pipeline',
    description: 'A Sluice pipeline: sources, operators and sinks joined by `from`, with runtime limits.',
    type: 'object',
    required: ['name', 'sources', 'sinks'],
    additionalProperties: false,
    properties: {
      name: properties.name,
      sources: nodes('source', String(properties.sources?.description), 1),
      operators: nodes('operator', String(properties.operators?.description), 0),
      sinks: nodes('sink', String(properties.sinks?.description), 1),
      dlq: { $ref: '#/definitions/dlq' },
      ...(withCheckpoints ? { checkpoints: { $ref: '#/definitions/checkpoints' } } : {}),
      runtime: plain(PIPELINE_SCHEMA.runtime),
      observability: plain(PIPELINE_SCHEMA.observability),
    },
    definitions: {
      source: nodeSchema('source', registry.sources),
      operator: nodeSchema('operator', registry.operators),
      sink: nodeSchema('sink', registry.sinks),
      dlq: nodeSchema('dlq', registry.sinks),
      ...(withCheckpoints ? { checkpoints: nodeSchema('checkpoints', checkpointStores) } : {}),
    },
  };
}

function nodeSchema(kind: Kind, definitions: ReadonlyMap<string, Described>): JsonSchema {
  const envelope: Record<string, JsonSchema> = {};
  if (kind === 'operator' || kind === 'sink')
    envelope.from = JSON.parse(JSON.stringify(PIPELINE_SCHEMA.from)) as JsonSchema;
  if (kind === 'sink' || kind === 'dlq')
    envelope.batch = JSON.parse(JSON.stringify(PIPELINE_SCHEMA.batch)) as JsonSchema;
  const label = kind === 'dlq' ? 'sink' : kind === 'checkpoints' ? 'checkpoint store' : kind;
  const types = [...definitions.values()];
  return {
    type: 'object',
    description:
      kind === 'dlq'
        ? 'Where records set aside go: any sink type, without `from`.'
        : kind === 'checkpoints'
          ? String(PIPELINE_SCHEMA.envelope.properties.checkpoints.description)
          : `A ${label}: its \`type\` selects its options.`,
    required: kind === 'operator' || kind === 'sink' ? ['type', 'from'] : ['type'],
    properties: {
      type: {
        description: `The ${label} type.`,
        anyOf: types.map((definition) => ({ const: definition.type, description: definition.summary })),
      },
      ...envelope,
    },
    allOf: types.map((definition) => ({
      if: { properties: { type: { const: definition.type } }, required: ['type'] },
      then: optionsSchema(definition, envelope),
    })),
  };
}

/** The component's options with the envelope keys beside them, closed to other keys when it is an object schema. */
function optionsSchema(definition: Described, envelope: Record<string, JsonSchema>): JsonSchema {
  const schema = closeObjectSchemas(definition.schema);
  const described = { description: definition.summary, ...schema };
  if (typeof schema.properties !== 'object' || schema.properties === null)
    return { description: definition.summary, allOf: [schema] };
  return {
    ...described,
    properties: {
      ...(schema.properties as JsonSchema),
      type: { const: definition.type, description: definition.summary },
      ...envelope,
    },
  };
}
