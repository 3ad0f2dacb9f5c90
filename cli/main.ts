#!/usr/bin/env node
import { Command, Option } from 'commander';
import { runCommand } from './commands/run.js';
import { quickstartCommand } from './commands/quickstart.js';
import { replayCommand } from './commands/replay.js';
import { schemaCommand } from './commands/schema.js';
import { validateCommand } from './commands/validate.js';
import { SluiceError } from '../runtime/errors.js';
import { EXIT } from './exit-codes.js';
import { packageVersion } from './package-version.js';

const version = packageVersion();

const program = new Command('sluice')
  .description('Move change data out of CockroachDB, Postgres and Kafka: check it, reshape it, land it.')
  .version(version, '-v, --version')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Examples:
  $ sluice quickstart                          run the demo pipeline on embedded defaults
  $ sluice quickstart --mode kafka             the demo from a Kafka topic (mock cluster) into Postgres
  $ sluice validate pipeline.yaml              check a config; every problem as FILE:LINE:COL: message
  $ sluice validate --connect pipeline.yaml    also check the databases it names (tables, privileges, CDC prerequisites)
  $ sluice run pipeline.yaml                   run until the input ends (bounded) or SIGINT/SIGTERM
  $ sluice run --dry-run pipeline.yaml         read and transform real input, write nothing, show samples
  $ sluice replay out/dlq.replay.jsonl pipeline.yaml   send dead letters through the pipeline again
  $ sluice schema > sluice.schema.json         JSON Schema for editor completion

Exit codes: 0 ok, 1 pipeline failed, 2 invalid config or usage, 3 shutdown timed out, 130 forced stop.`,
  );

program
  .command('run')
  .description('run a pipeline')
  .argument('<file>', 'pipeline config (YAML)')
  .option('--dry-run', 'read real input and run the operators, write nothing; print what each sink would receive')
  .option('--samples <n>', 'records shown per sink with --dry-run', '3')
  .option('--limit <n>', 'with --dry-run: stop after reading this many records per source', '1000')
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
  .action(async (file: string, options: { dryRun?: boolean; samples: string; limit: string; logLevel?: string }) => {
    const code = await runCommand(file, {
      dryRun: options.dryRun === true,
      samples: Number(options.samples),
      limit: Number(options.limit),
      logLevel: options.logLevel,
    });
    process.exitCode = code;
    // After a timed-out or forced stop a stuck write (its socket, its timer) may keep the event loop alive: give
    // the logs a moment to flush, then leave with the documented code.
    if (code === EXIT.shutdownTimeout || code === EXIT.forced) setTimeout(() => process.exit(code), 500).unref();
  });

program
  .command('replay')
  .description("send a dead-letter file's original records back through a pipeline (after a fix)")
  .argument('<dlq-file>', 'dead-letter file written by a file DLQ (JSON Lines)')
  .argument('<file>', 'pipeline config (YAML)')
  .option('--source <name>', 'the source the dead letters came from (when the pipeline has several)')
  .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
  .action(async (dlqFile: string, file: string, options: { source?: string; logLevel?: string }) => {
    process.exitCode = await replayCommand(dlqFile, file, options);
  });

program
  .command('validate')
  .description('check a pipeline config without running it')
  .argument('<file>', 'pipeline config (YAML)')
  .option('--connect', 'also connect to each Postgres sink, Postgres CDC source, sinkless CockroachDB source, Kafka cluster and Avro schema registry, and try a webhook\'s TLS files and address: tables, privileges, prerequisites, topics, credentials')
  .action(async (file: string, options: { connect?: boolean }) => {
    process.exitCode = await validateCommand(file, { connect: options.connect === true });
  });

program
  .command('schema')
  .description('print the JSON Schema of pipeline config files (for editors)')
  .action(() => {
    process.exitCode = schemaCommand();
  });

program
  .command('quickstart')
  .description('run the demo pipeline on embedded defaults (no server to install) and print a summary')
  .addOption(
    new Option('--mode <mode>', 'generate: generated orders; kafka: orders produced into a mock Kafka cluster while the pipeline consumes them')
      .choices(['generate', 'kafka'])
      .default('generate'),
  )
  .option('--records <n>', 'records to generate (or to produce into Kafka)', '200000')
  .option('--keep', 'keep the embedded Postgres running after the run (until Ctrl-C), to look at the data')
  .action(async (options: { mode: 'generate' | 'kafka'; records: string; keep?: boolean }) => {
    process.exitCode = await quickstartCommand({ mode: options.mode, records: Number(options.records), keep: options.keep === true });
  });

program.exitOverride((error) => {
  process.exit(error.exitCode === 0 ? EXIT.ok : EXIT.invalidConfig);
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // What a command could not turn into an exit code itself (the quickstart's embedded servers failing to start):
  // the message and code, not a stack trace.
  if (!(error instanceof SluiceError)) throw error;
  console.error(`sluice: ${error.message} (${error.code})`);
  process.exitCode = EXIT.pipelineFailed;
}
