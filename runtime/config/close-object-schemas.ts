type JsonSchema = Record<string, unknown>;

const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas'];
const SCHEMA_LISTS = ['anyOf', 'oneOf', 'prefixItems'];
const SCHEMA_VALUES = ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains'];

/**
 * A JSON copy of `schema` in which every object schema that says nothing about extra keys forbids them
 * (`additionalProperties: false`), so a misspelt option is reported instead of ignored. Schemas combined with
 * `allOf` are left open (each part sees only its own keys), as are those with `patternProperties` or
 * `unevaluatedProperties`.
 */
export function closeObjectSchemas(schema: object): JsonSchema {
  return close(JSON.parse(JSON.stringify(schema)) as JsonSchema, false);
}

function close(schema: JsonSchema, insideAllOf: boolean): JsonSchema {
  const isObject =
    schema.type === 'object' || (schema.type === undefined && typeof schema.properties === 'object');
  if (
    isObject &&
    !insideAllOf &&
    !('additionalProperties' in schema) &&
    !('patternProperties' in schema) &&
    !('unevaluatedProperties' in schema)
  ) {
    schema.additionalProperties = false;
  }
  for (const key of SCHEMA_MAPS) {
    const map = schema[key];
    if (isSchema(map))
      for (const [name, child] of Object.entries(map)) if (isSchema(child)) map[name] = close(child, false);
  }
  for (const key of SCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list))
      schema[key] = list.map((child: unknown) => (isSchema(child) ? close(child, false) : child));
  }
  for (const key of SCHEMA_VALUES) {
    const child = schema[key];
    if (isSchema(child))
      schema[key] = close(child, key === 'if' || key === 'then' || key === 'else' || key === 'not');
  }
  if (Array.isArray(schema.allOf)) {
    schema.allOf = schema.allOf.map((child: unknown) => (isSchema(child) ? close(child, true) : child));
  }
  return schema;
}

function isSchema(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
