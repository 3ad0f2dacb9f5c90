import { resolve } from 'node:path';
import { Type } from '@sinclair/typebox';
import { defineSink } from '../../runtime/component.js';
import { FileSink } from './file-sink.js';

const schema = Type.Object({
  path: Type.String({ minLength: 1, description: "The file to append to, relative to the config file's directory. Missing directories are created." }),
  format: Type.Optional(
    Type.Union([Type.Literal('rows'), Type.Literal('changes')], {
      default: 'rows',
      description:
        '`rows`: one JSON object per line, the row after the change (deletes: `{"_op": "delete", ...key}`). `changes`: the whole change record per line (op, key, before, after, source, ...), which the file source reads back with `records: changes`.',
    }),
  ),
  fsync: Type.Optional(
    Type.Boolean({ default: true, description: 'Flush each batch to disk before it counts as written.' }),
  ),
});

/** `file` sink: appends records as JSON lines, one append (and by default one fsync) per batch. */
export const fileSink = defineSink({
  type: 'file',
  summary: 'Appends records to a file as JSON lines (rows or whole change records).',
  schema,
  create(config, context) {
    return new FileSink({
      file: resolve(context.configDir, config.path),
      format: config.format ?? 'rows',
      fsync: config.fsync ?? true,
    });
  },
});
