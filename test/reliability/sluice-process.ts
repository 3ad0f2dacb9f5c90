import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const CLI = join(import.meta.dirname, '..', '..', 'cli', 'main.ts');

/** How a `sluice` child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * `sluice ARGS` as a child process, run from the sources as a user would (`node --import tsx cli/main.ts`), with
 * everything it prints kept, for crash, outage and memory tests that kill it, watch its output and read its RSS.
 */
export class SluiceProcess {
  readonly #child: ChildProcess;
  readonly #exited: Promise<Exit>;
  #output = '';

  private constructor(child: ChildProcess) {
    this.#child = child;
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (this.#output += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.#output += chunk));
    this.#exited = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (code, signal) => resolve({ code, signal }));
    });
  }

  /** Starts `sluice ARGS` with `env` added to this process's environment (logs as JSON lines at `info`). */
  static start(args: readonly string[], env: Readonly<Record<string, string>> = {}): SluiceProcess {
    const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), CLI, ...args], {
      env: { ...process.env, SLUICE_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new SluiceProcess(child);
  }

  /** Runs `sluice ARGS` to its end. */
  static async run(
    args: readonly string[],
    env: Readonly<Record<string, string>> = {},
  ): Promise<Exit & { output: string }> {
    const child = SluiceProcess.start(args, env);
    const exit = await child.exited;
    return { ...exit, output: child.output };
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid!;
  }

  /** Everything printed so far, stdout and stderr interleaved as they arrived. */
  get output(): string {
    return this.#output;
  }

  /** Resolves when the process has exited and its output is closed. */
  get exited(): Promise<Exit> {
    return this.#exited;
  }

  /** True while the process runs. */
  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  /** Resolves once the output matches `pattern`; rejects when the process exits first or after `timeoutMs`. */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.#output)) {
      if (!this.running)
        throw new Error(`sluice exited before printing ${pattern}:\n${this.#output.slice(-4000)}`);
      if (Date.now() > deadline)
        throw new Error(
          `sluice did not print ${pattern} within ${timeoutMs} ms:\n${this.#output.slice(-4000)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Sends `signal` without waiting (a stop that must be watched rather than awaited). */
  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<Exit> {
    if (this.running) this.#child.kill(signal);
    return this.#exited;
  }

  /** Resident memory in bytes, from `/proc/PID/status` (VmRSS); undefined once the process is gone. */
  async rssBytes(): Promise<number | undefined> {
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
      return match ? Number(match[1]) * 1024 : undefined;
    } catch {
      return undefined;
    }
  }
}
