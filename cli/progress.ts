import type { ProgressMode } from '../runtime/telemetry/observability-settings.js';

/** One bounded source's progress, in the source's own unit (see `Source.progress`). */
export interface SourceProgress {
  readonly done: number;
  readonly total: number | null;
  readonly unit: string;
}

/** Options of {@link startProgress}. */
export interface ProgressOptions {
  readonly mode: ProgressMode;
  /** Reads the progress of every bounded source now (sources without progress are left out). */
  readonly read: () => Readonly<Record<string, SourceProgress>>;
  /** Where to write (default: stderr). */
  readonly stream?: NodeJS.WriteStream;
  /** How often a line is printed in `lines` mode, in milliseconds. */
  readonly intervalMs: number;
  /** How often the bar is redrawn, in milliseconds (default 200). */
  readonly redrawMs?: number;
}

/** A running progress display. */
export interface Progress {
  /** Prints the final state once and stops. Idempotent. */
  stop(): void;
}

const BAR_WIDTH = 24;

function amount(value: number): string {
  if (value >= 10_000_000) return `${(value / 1_000_000).toFixed(1)}M`;
  if (value >= 10_000) return `${(value / 1_000).toFixed(1)}k`;
  return String(Math.round(value));
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Per source: the rate, smoothed over the last ticks. */
class Rates {
  readonly #last = new Map<string, { done: number; at: number; rate: number }>();

  update(name: string, done: number, at: number): number {
    const last = this.#last.get(name);
    if (last === undefined) {
      this.#last.set(name, { done, at, rate: 0 });
      return 0;
    }
    const seconds = (at - last.at) / 1000;
    if (seconds <= 0) return last.rate;
    const now = (done - last.done) / seconds;
    const rate = last.rate === 0 ? now : 0.7 * last.rate + 0.3 * now;
    this.#last.set(name, { done, at, rate });
    return rate;
  }
}

/** One source's progress as text: done / total unit (percent), rate, and ETA when the total is known. */
export function describeProgress(name: string, progress: SourceProgress, rate: number, bar: boolean): string {
  const { done, total, unit } = progress;
  const speed = `${amount(rate)} ${unit}/s`;
  if (total === null || total <= 0) return `${name}: ${amount(done)} ${unit}, ${speed}`;
  const fraction = Math.min(1, done / total);
  const percent = `${Math.floor(fraction * 100)}%`;
  const eta = rate > 0 ? duration((total - done) / rate) : '?';
  const prefix = bar
    ? `${name} [${'#'.repeat(Math.round(fraction * BAR_WIDTH)).padEnd(BAR_WIDTH, '.')}] ${percent}`
    : `${name}: ${percent}`;
  return `${prefix} ${amount(done)}/${amount(total)} ${unit}, ${speed}, ETA ${eta}`;
}

/**
 * Shows the progress of bounded sources (files, snapshots, generated counts): on a terminal (mode `auto` or `bar`)
 * a bar per source with rate and ETA, redrawn in place; otherwise (`auto` off a terminal, or `lines`) one line per
 * source every `intervalMs`. Prints nothing when no source reports progress; `off` does nothing.
 */
export function startProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const mode = options.mode === 'auto' ? (stream.isTTY === true ? 'bar' : 'lines') : options.mode;
  if (mode === 'off') return { stop: () => undefined };
  const rates = new Rates();
  let drawn = 0;
  const snapshot = (): string[] => {
    const at = performance.now();
    return Object.entries(options.read()).map(([name, progress]) =>
      describeProgress(name, progress, rates.update(name, progress.done, at), mode === 'bar'),
    );
  };
  const draw = (): void => {
    const lines = snapshot();
    if (lines.length === 0) return;
    if (mode === 'lines') {
      for (const line of lines) stream.write(`progress ${line}\n`);
      return;
    }
    // Move up over the previous drawing and overwrite it.
    const up = drawn > 0 ? `\x1b[${drawn}F` : '';
    stream.write(`${up}${lines.map((line) => `\x1b[2K${line}`).join('\n')}\n`);
    drawn = lines.length;
  };
  snapshot();
  const timer = setInterval(draw, mode === 'bar' ? (options.redrawMs ?? 200) : options.intervalMs);
  timer.unref();
  let stopped = false;
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      draw();
    },
  };
}
