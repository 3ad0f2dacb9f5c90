import { pipelineJsonSchema } from '../../runtime/config/index.js';
import { EXIT } from '../exit-codes.js';
import { defaultRegistry } from '../registry.js';

/** `sluice schema`: prints the JSON Schema of pipeline config files, for editors. */
export function schemaCommand(): number {
  console.log(JSON.stringify(pipelineJsonSchema(defaultRegistry()), null, 2));
  return EXIT.ok;
}
