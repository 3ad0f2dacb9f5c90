import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import pino from 'pino';
import { OPERATOR_WORKER } from '../../cli/operator-worker.js';
import type { CustomOperatorFunction } from '../../operators/custom.js';
import { loadPipeline } from '../../runtime/config/index.js';
import { FileCheckpointStore } from '../../runtime/file-checkpoint-store.js';
import { Pipeline } from '../../runtime/pipeline.js';
import type { Row } from '../../runtime/record.js';
import { CHECKSUM_SINKS, withChecksumSink } from '../checksum-sink.js';
import { Checksum } from '../checksum.js';
import { BENCH_BATCH, generatedBatches } from '../generated-orders.js';
import { fieldText, rowIdentity } from '../record-identity.js';
import type { BenchSystem, Scenario, SystemResult } from '../scenario.js';
import { operatorsChainYaml } from '../operators-chain-yaml.js';

const SEED = 13;
/**
 * PBKDF2 iterations per record in the heavy chain's salted hash (key stretching, as a password or PII hash does):
 * about 75 µs per record on the development machine. Hashed with @noble/hashes (JavaScript), not node:crypto: on
 * Node 20 (OpenSSL 3.0) every node:crypto hash or HMAC fetches its digest and shares it under locks and reference
 * counts that the threads of one process contend for, so a `createHmac` loop on two threads ran ~1.15× one thread
 * and `pbkdf2Sync` ~1.75× (two processes: ~1.9×); that measures OpenSSL, not the worker pool (see the README).
 */
const ITERATIONS = 40;
const SALT = 'bench-salt';
const HEAVY_FIELDS = ['id', 'amount', 'status', 'email_hash'];
const LIGHT_FIELDS = ['id', 'amount_cents', 'customer_name', 'email', 'currency'];

/** The salted, stretched hash of one text: PBKDF2-HMAC-SHA-256 over ITERATIONS, 32 bytes, in hex. */
function stretch(text: string): string {
  return bytesToHex(pbkdf2(sha256, text, SALT, { c: ITERATIONS, dkLen: 32 }));
}

/** The heavy chain's custom step: replaces `email` by its salted, stretched hash. Loaded by the pipeline's workers. */
export const saltedEmailHash: CustomOperatorFunction = (records) =>
  records.map((record) => {
    const { email, ...rest } = record.after!;
    return { ...record, after: { ...rest, email_hash: stretch(email as string) } };
  });

/** generate → validate (4 regex rules) → custom salted hash of the email → sink; `workers` set per system. */
const heavyPipeline = (workers: string) => `
name: bench-workers-heavy
sources:
  orders: { type: generate, count: '\${RECORDS}', seed: ${SEED}, batch_records: ${BENCH_BATCH} }
operators:
  rules:
    from: orders
    type: validate
    rules:
      - { name: email_shape, field: email, regex: '^[a-z0-9._-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+$', action: dlq }
      - { name: name_shape, field: customer, regex: '^[A-Z][a-z]+ [A-Z][A-Za-z-]+$', action: dlq }
      - { name: currency, field: currency, regex: '^(EUR|USD|GBP)$', action: dlq }
      - { name: status, field: status, regex: '^(new|paid|shipped|cancelled)$', action: dlq }
  hash:
    from: rules
    type: custom
    module: ${JSON.stringify(fileURLToPath(import.meta.url))}
    export: saltedEmailHash
sinks:
  out: { from: hash, type: bench_checksum, fields: [${HEAVY_FIELDS.join(', ')}], batch: { max_records: ${BENCH_BATCH}, max_wait: 50ms } }
dlq: { type: discard }
runtime: { state_dir: ./state, workers: ${workers} }
`;

/** generate → filter → transform (3 fields) → validate (5 rules) → sink, as in the `operators` scenario. */
const lightPipeline = (workers: string) => `
name: bench-workers-light
sources:
  orders: { type: generate, count: '\${RECORDS}', seed: ${SEED}, batch_records: ${BENCH_BATCH} }
${operatorsChainYaml()}
sinks:
  out: { from: checks, type: bench_checksum, fields: [${LIGHT_FIELDS.join(', ')}], batch: { max_records: ${BENCH_BATCH}, max_wait: 50ms } }
dlq: { type: discard }
runtime: { state_dir: ./state, workers: ${workers} }
`;

/** Runs a pipeline with the worker module registered (what `runSluicePipeline` does, plus `operatorWorker`). */
async function runWithWorkers(yaml: string, workDir: string, records: number): Promise<SystemResult> {
  await mkdir(workDir, { recursive: true });
  const file = join(workDir, 'pipeline.yaml');
  await writeFile(file, yaml);
  // Imported here, not at the top: worker threads load this file for `saltedEmailHash`, and the registry's
  // connectors include native addons that cannot load in a second thread.
  const { defaultRegistry } = await import('../../cli/registry.js');
  const registry = { ...withChecksumSink(defaultRegistry()), operatorWorker: OPERATOR_WORKER };
  const spec = await loadPipeline(file, registry, { env: { ...process.env, RECORDS: String(records) } });
  const checkpoints = new FileCheckpointStore(spec.runtime.stateDir);
  const pipeline = await Pipeline.create(spec, { registry, logger: pino({ level: 'warn' }), checkpoints });
  const started = performance.now();
  await pipeline.run();
  const seconds = (performance.now() - started) / 1000;
  await checkpoints.close();
  const out = CHECKSUM_SINKS.get('out')!;
  return {
    records: out.checksum.count,
    checksum: out.checksum.hex,
    seconds,
    latenciesMs: out.latency.samples,
  };
}

const system = (name: string, pipeline: (workers: string) => string, workers: string): BenchSystem => ({
  name,
  role: 'sluice',
  run: ({ records, workDir }) => runWithWorkers(pipeline(workers), workDir, records),
});

/** Scenario `workers`: a CPU-heavy chain (regex rules, salted hashing) inline and on 1, 2 and 4 worker threads. */
export const workers: Scenario = {
  name: 'workers',
  description: `generate → validate (4 regex rules) → salted hash (PBKDF2-HMAC-SHA-256, ${ITERATIONS} iterations) → sink, inline and on 1/2/4 worker threads`,
  records: { full: 200_000, quick: 40_000 },
  expected: (records) => {
    const checksum = new Checksum();
    for (const batch of generatedBatches(records, SEED)) {
      for (const record of batch) {
        const { email, ...rest } = record.after!;
        const row: Row = { ...rest, email_hash: stretch(email as string) };
        checksum.add(rowIdentity(row, HEAVY_FIELDS));
      }
    }
    return { records: checksum.count, checksum: checksum.hex };
  },
  systems: [
    system('inline', heavyPipeline, 'inline'),
    system('workers-1', heavyPipeline, '1'),
    system('workers-2', heavyPipeline, '2'),
    system('workers-4', heavyPipeline, '4'),
  ],
  ratios: [
    { of: 'workers-1', to: 'inline' },
    { of: 'workers-2', to: 'inline', atLeast: 1.6 },
    { of: 'workers-4', to: 'inline' },
  ],
};

/** Scenario `workers-light`: the light chain inline and with `workers: auto` (which should keep it inline). */
export const workersLight: Scenario = {
  name: 'workers-light',
  description: 'generate → filter → transform → validate (5 rules) → sink, inline and with workers: auto',
  records: { full: 1_000_000, quick: 200_000 },
  expected: (records) => {
    const checksum = new Checksum();
    for (const batch of generatedBatches(records, SEED)) {
      for (const record of batch) {
        const after = record.after!;
        if (after.status === 'cancelled') continue;
        const { customer, note: _note, ...rest } = after;
        const amount = Number(fieldText(after.amount));
        checksum.add(
          rowIdentity(
            { ...rest, customer_name: customer!, amount_cents: Math.round(amount * 100) },
            LIGHT_FIELDS,
          ),
        );
      }
    }
    return { records: checksum.count, checksum: checksum.hex };
  },
  systems: [system('inline', lightPipeline, 'inline'), system('auto', lightPipeline, 'auto')],
  ratios: [{ of: 'auto', to: 'inline', atLeast: 0.9 }],
};
