import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * The first directory from `path` up to the root that users other than its owner and group cannot enter (no
 * execute bit for others), or `undefined` when every one of them can be entered. Running as root, the embedded
 * Postgres runs its binaries as the `postgres` user, which must be able to reach them.
 */
export async function untraversableDirectory(path: string): Promise<string | undefined> {
  let directory = resolve(path);
  for (;;) {
    const { mode } = await stat(directory);
    if ((mode & 0o001) === 0) return directory;
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}
