import { Ajv, type ValidateFunction } from 'ajv';
import { SluiceError } from '../errors.js';
import { closeObjectSchemas } from './close-object-schemas.js';
import { PIPELINE_SCHEMA } from './pipeline-schema.js';

const ajv = new Ajv({ allErrors: true, verbose: true, useDefaults: true, strict: false, logger: false });
ajv.addKeyword(PIPELINE_SCHEMA.unitKeyword);

const compiled = new WeakMap<object, ValidateFunction>();

/**
 * The validator of a JSON Schema, compiled once per schema object: it reports every error (`allErrors`, with
 * the failing data and schema), fills in `default`s and, with `closed`, rejects keys the schema does not name
 * (see {@link closeObjectSchemas}). Throws `SluiceError` `SCHEMA_INVALID` when the schema itself is broken
 * (`what` names it).
 */
export function schemaValidator(schema: object, what: string, closed = false): ValidateFunction {
  let validate = compiled.get(schema);
  if (validate === undefined) {
    try {
      validate = ajv.compile(closed ? closeObjectSchemas(schema) : schema);
    } catch (error) {
      throw new SluiceError(
        'SCHEMA_INVALID',
        `expected a valid JSON Schema for ${what}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    compiled.set(schema, validate);
  }
  return validate;
}
