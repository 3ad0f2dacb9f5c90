import { resolve } from 'node:path';
import { ConfigError, loadPipeline } from '../../runtime/config/index.js';
import { EXIT } from '../exit-codes.js';
import { defaultRegistry } from '../registry.js';

/** `sluice validate FILE`: exit 0 when valid; otherwise every problem as `FILE:LINE:COL: message` and exit 2. */
export async function validateCommand(file: string): Promise<number> {
  try {
    const spec = await loadPipeline(resolve(file), defaultRegistry(), { env: process.env });
    const nodes = spec.sources.length + spec.operators.length + spec.sinks.length;
    console.log(`${file}: valid (pipeline ${spec.name}, ${nodes} nodes)`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.format());
      return EXIT.invalidConfig;
    }
    throw error;
  }
}
