// Micro-benchmark: 1M evaluations of `after.status == "paid" && after.amount > 100`, compiled by Sluice, against
// the same check written by hand and against the CEL library's own interpreter. Each candidate runs in its own
// process (so no call site sees another's functions), three rounds alternating; the best round counts.
// Run: node --import tsx test/runtime/expression/expression-benchmark.ts
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parse } from '@marcbachmann/cel-js';
import type { ChangeRecord } from '../../../runtime/record.js';
import { compileExpression, compilePredicate } from '../../../runtime/expression/index.js';
import { orderChange } from './record-fixture.js';

const TEXT = 'after.status == "paid" && after.amount > 100';
const EVALUATIONS = 1_000_000;
const CANDIDATES = ['hand-written', 'compilePredicate', 'compileExpression', 'cel-js interpreter'] as const;

function measure(check: (record: ChangeRecord) => unknown): number {
  const records = Array.from({ length: 1000 }, (_, i) =>
    orderChange({
      id: i,
      status: i % 3 === 0 ? 'paid' : 'open',
      amount: i % 250,
      currency: i % 2 ? 'EUR' : 'GBP',
    }),
  );
  let best = Infinity;
  for (let round = 0; round < 7; round++) {
    let hits = 0;
    const started = process.hrtime.bigint();
    for (let i = 0; i < EVALUATIONS; i++) if (check(records[i % 1000]!) === true) hits++;
    best = Math.min(best, Number(process.hrtime.bigint() - started) / 1e6);
    if (hits !== 199_000) throw new Error(`wrong result: ${hits} hits`);
  }
  return best;
}

function candidate(name: string): (record: ChangeRecord) => unknown {
  switch (name) {
    case 'hand-written':
      return (r) => r.after?.status === 'paid' && (r.after?.amount as number) > 100;
    case 'compilePredicate': {
      const predicate = compilePredicate(TEXT);
      return (r) => predicate.test(r);
    }
    case 'compileExpression': {
      const expression = compileExpression(TEXT);
      return (r) => expression.evaluate(r);
    }
    default: {
      const evaluate = parse(TEXT);
      return (r): unknown =>
        evaluate({
          after: { status: r.after?.status, amount: BigInt(r.after?.amount as number) },
        }) as unknown;
    }
  }
}

const which = process.argv[2];
if (which !== undefined) {
  console.log(measure(candidate(which)));
} else {
  const best = new Map<string, number>();
  for (let round = 0; round < 3; round++) {
    for (const name of CANDIDATES) {
      const run = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), name], {
        encoding: 'utf8',
      });
      if (run.status !== 0) throw new Error(run.stderr);
      best.set(name, Math.min(best.get(name) ?? Infinity, Number(run.stdout.trim())));
    }
  }
  const hand = best.get('hand-written') ?? NaN;
  for (const [name, ms] of best)
    console.log(`${name.padEnd(20)} ${ms.toFixed(1).padStart(8)} ms  ${(ms / hand).toFixed(2)}x`);
}
