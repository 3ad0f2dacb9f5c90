import { extname, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { defineSource, type ConfigIssue } from '../../runtime/component.js';
import { SluiceError } from '../../runtime/errors.js';
import { DEFAULTS } from '../../runtime/limits.js';
import { CSV_COLUMN_TYPES } from './csv-field-value.js';
import { FileSource } from './file-source.js';

const schema = Type.Object({
  path: Type.String({ minLength: 1, description: "The file to read, relative to the config file's directory." }),
  format: Type.Optional(
    Type.Union([Type.Literal('jsonl'), Type.Literal('csv')], {
      description: 'How the file is written. Default: from the extension (`.jsonl`, `.ndjson`, `.json`: jsonl; `.csv`, `.tsv`: csv).',
    }),
  ),
  records: Type.Optional(
    Type.Union([Type.Literal('rows'), Type.Literal('changes')], {
      default: 'rows',
      description:
        '`rows`: each line is a row (the record\'s `after`). `changes`: each line is a Sluice change record as the file sink writes it with `format: changes`, or a DLQ entry holding one (to replay a DLQ or sink file). jsonl only.',
    }),
  ),
  key: Type.Optional(
    Type.Array(Type.String({ minLength: 1 }), {
      minItems: 1,
      uniqueItems: true,
      description: 'Columns that form the record key. Default: no key (in `changes` mode, the key each line carries).',
    }),
  ),
  op: Type.Optional(
    Type.Union([Type.Literal('insert'), Type.Literal('update'), Type.Literal('delete'), Type.Literal('read')], {
      default: 'insert',
      description: 'The operation of every row in `rows` mode. For `delete` the row becomes the record\'s `before`.',
    }),
  ),
  batch_records: Type.Optional(
    Type.Integer({ minimum: 1, default: DEFAULTS.sourceBatchRecords, description: 'Most lines in one batch.' }),
  ),
  header: Type.Optional(Type.Boolean({ default: true, description: 'CSV: the first line names the columns.' })),
  delimiter: Type.Optional(
    Type.String({ minLength: 1, description: 'CSV: the field delimiter. Default: a tab for `.tsv` files, else a comma.' }),
  ),
  columns: Type.Optional(
    Type.Record(
      Type.String({ minLength: 1 }),
      Type.Union(
        CSV_COLUMN_TYPES.map((type) => Type.Literal(type)),
        { description: 'A column type: string, number, integer, decimal (exact digits), boolean or json.' },
      ),
      {
        description:
          'CSV: column types by name; unlisted columns are strings, and an empty field is null. With `header: false`, the column names in file order (required then).',
      },
    ),
  ),
});

/** The options of the `file` source. */
type FileSourceConfig = Static<typeof schema>;

const FORMAT_BY_EXTENSION: Readonly<Record<string, 'jsonl' | 'csv'>> = {
  '.jsonl': 'jsonl',
  '.ndjson': 'jsonl',
  '.json': 'jsonl',
  '.csv': 'csv',
  '.tsv': 'csv',
};

/** Problems the schema cannot express. */
function issuesOf(config: FileSourceConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const format = config.format ?? FORMAT_BY_EXTENSION[extname(config.path).toLowerCase()];
  if (format === undefined) {
    issues.push({ path: ['format'], message: `cannot tell the format of "${config.path}" from its extension: set format to jsonl or csv` });
  }
  if (format === 'csv' && config.records === 'changes') {
    issues.push({ path: ['records'], message: 'records: changes needs a jsonl file; CSV files hold rows' });
  }
  if (format === 'csv' && config.header === false && (config.columns === undefined || Object.keys(config.columns).length === 0)) {
    issues.push({ path: ['columns'], message: 'a CSV file without a header needs columns: the column names in file order, with their types' });
  }
  return issues;
}

/**
 * `file` source: reads a JSON-lines or CSV file once (bounded), streaming, resuming after its last checkpoint.
 * Undecodable lines go to the DLQ with their `path:LINE` position.
 */
export const fileSource = defineSource({
  type: 'file',
  summary: 'Reads a JSON-lines or CSV file of rows or change records, resuming after its checkpoint.',
  schema,
  check: (config) => issuesOf(config),
  create(config, context) {
    const issues = issuesOf(config);
    if (issues.length > 0) {
      throw new SluiceError('CONFIG_INVALID', `file source "${context.node}": ${issues.map((issue) => issue.message).join('; ')}`);
    }
    const extension = extname(config.path).toLowerCase();
    return new FileSource({
      file: resolve(context.configDir, config.path),
      path: config.path,
      format: config.format ?? FORMAT_BY_EXTENSION[extension]!,
      records: config.records ?? 'rows',
      key: config.key,
      op: config.op ?? 'insert',
      batchRecords: config.batch_records ?? DEFAULTS.sourceBatchRecords,
      header: config.header ?? true,
      delimiter: config.delimiter ?? (extension === '.tsv' ? '\t' : ','),
      columns: config.columns,
    });
  },
});
