import { Type } from '@sinclair/typebox';
import { defineSource } from '../../runtime/component.js';
import { DEFAULTS } from '../../runtime/limits.js';
import { GenerateSource } from './generate-source.js';

const schema = Type.Object({
  count: Type.Optional(
    Type.Integer({ minimum: 0, description: 'Records to produce in total (restarts included). Omit for an endless stream.' }),
  ),
  rate: Type.Optional(
    Type.Number({ exclusiveMinimum: 0, description: 'Records per second, produced steadily. Omit for as fast as the pipeline takes them.' }),
  ),
  seed: Type.Optional(
    Type.Integer({ minimum: 0, default: 1, description: 'The same seed always produces the same records.' }),
  ),
  batch_records: Type.Optional(
    Type.Integer({ minimum: 1, default: DEFAULTS.sourceBatchRecords, description: 'Most records in one batch.' }),
  ),
  keys: Type.Optional(
    Type.Integer({
      minimum: 1,
      description: 'Distinct order ids: ids cycle, so after the first `keys` inserts come updates. Omit for a new id per record.',
    }),
  ),
  invalid_ratio: Type.Optional(
    Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0,
      description: 'Fraction of records with one deliberate defect (a null email, a malformed email or a negative amount), for data-quality demos.',
    }),
  ),
});

/**
 * `generate` source: synthetic orders `{ id, customer, email, amount, currency, status, created_at, note }` keyed by
 * `id`, for demos and benchmarks.
 */
export const generateSource = defineSource({
  type: 'generate',
  summary: 'Produces synthetic, deterministic order records (optionally with deliberate defects) at a steady rate or as fast as possible.',
  schema,
  create(config) {
    return new GenerateSource({
      count: config.count,
      rate: config.rate,
      seed: config.seed ?? 1,
      batchRecords: config.batch_records ?? DEFAULTS.sourceBatchRecords,
      keys: config.keys,
      invalidRatio: config.invalid_ratio ?? 0,
    });
  },
});
