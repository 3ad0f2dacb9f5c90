/** The exit codes of the `sluice` command, documented in the README. */
export const EXIT = {
  /** The command did what was asked: a bounded pipeline drained, a stopped pipeline shut down cleanly, a config is valid. */
  ok: 0,
  /** The pipeline failed: a connector gave up after its restarts, a sink refused data for good, a rule with `action: fail`. */
  pipelineFailed: 1,
  /** The config file is invalid (each problem printed as FILE:LINE:COL: message) or the command line is wrong. */
  invalidConfig: 2,
  /** Graceful shutdown did not finish within `runtime.shutdown_timeout`: the pipeline was closed by force. */
  shutdownTimeout: 3,
  /** A second SIGINT/SIGTERM forced an immediate stop; in-flight records were not drained (they will be read again). */
  forced: 130,
} as const;
