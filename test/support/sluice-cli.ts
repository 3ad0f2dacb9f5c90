import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The CLI's entry point, run from source. */
const CLI = join(import.meta.dirname, '..', '..', 'cli', 'main.ts');

/** How a `sluice` run ended. */
export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link sluice}. */
export interface SluiceOptions {
  /** Working directory (default: the test's). */
  cwd?: string;
  /** Variables added to the environment (`SLUICE_LOG_LEVEL` is `warn` unless given). */
  env?: Record<string, string>;
  /** Gets the child as soon as it started, and its output so far, to signal it. */
  whileRunning?: (child: ChildProcess, output: () => string) => void;
}

/** Runs `sluice ARGS` as a user would, from source, and resolves with its exit code and output. */
export function sluice(args: string[], options: SluiceOptions = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, ...args], {
      cwd: options.cwd,
      env: { ...process.env, SLUICE_LOG_LEVEL: 'warn', ...options.env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    options.whileRunning?.(child, () => stdout + stderr);
  });
}
