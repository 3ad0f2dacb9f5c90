import { Type } from '@sinclair/typebox';
import { defineSink } from '../../runtime/component.js';
import { StdoutSink } from './stdout-sink.js';

const schema = Type.Object({
  format: Type.Optional(
    Type.Union([Type.Literal('rows'), Type.Literal('changes')], {
      default: 'rows',
      description: '`rows`: the row after the change per line (deletes: `{"_op": "delete", ...key}`). `changes`: the whole change record per line.',
    }),
  ),
});

/** `stdout` sink: prints records as JSON lines, waiting when the reader is slower than the pipeline. */
export const stdoutSink = defineSink({
  type: 'stdout',
  summary: 'Prints records to standard output as JSON lines.',
  schema,
  create(config) {
    return new StdoutSink(config.format ?? 'rows');
  },
});
