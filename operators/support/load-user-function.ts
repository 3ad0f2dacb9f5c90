import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SluiceError, messageOf } from '../../runtime/errors.js';

/**
 * Loads the function a config names by module and export (`module: ./rules.js`, `export: checkOrder`). The path is
 * resolved against the config's directory. Compiled JavaScript (`.js`, `.mjs`) is the production path; `.ts`
 * modules load only when Sluice runs under a TypeScript loader such as tsx.
 *
 * Rejects with a `SluiceError`: `MODULE_LOAD_FAILED` when the module cannot be imported, `MODULE_EXPORT_INVALID`
 * when it has no function under that name.
 */
export async function loadUserFunction<F extends (...args: never[]) => unknown>(
  configDir: string,
  module: string,
  exportName: string,
): Promise<F> {
  const file = resolve(configDir, module);
  let namespace: Record<string, unknown>;
  try {
    namespace = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new SluiceError(
      'MODULE_LOAD_FAILED',
      `could not load module ${module} (resolved to ${file}): ${messageOf(error)}`,
      {
        cause: error,
      },
    );
  }
  const found = namespace[exportName];
  if (typeof found !== 'function') {
    const functions = Object.keys(namespace).filter((name) => typeof namespace[name] === 'function');
    const got = found === undefined ? 'no such export' : `a ${typeof found}`;
    const offer = functions.length > 0 ? `; it exports the functions ${functions.join(', ')}` : '';
    throw new SluiceError(
      'MODULE_EXPORT_INVALID',
      `expected module ${module} to export a function named ${exportName}, got ${got}${offer}`,
    );
  }
  return found as F;
}
