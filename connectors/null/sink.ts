import { Type } from '@sinclair/typebox';
import { defineSink } from '../../runtime/component.js';
import { NullSink } from './null-sink.js';

const schema = Type.Object({
  delay: Type.Optional(
    Type.Integer({ minimum: 0, default: 0, description: 'Milliseconds each write takes (to demonstrate backpressure).' }),
  ),
});

/** `null` sink: discards records and counts them (benchmarks, dry runs, backpressure demos). */
export const nullSink = defineSink({
  type: 'null',
  summary: 'Discards records, counting them; each write may take a fixed delay.',
  schema,
  create(config) {
    return new NullSink(config.delay ?? 0);
  },
});
