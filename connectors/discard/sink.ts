import { Type } from '@sinclair/typebox';
import { defineSink } from '../../runtime/component.js';
import { DiscardSink } from './discard-sink.js';

const schema = Type.Object({
  delay: Type.Optional(
    Type.Integer({ minimum: 0, default: 0, description: 'Milliseconds each write takes (to demonstrate backpressure).' }),
  ),
});

/** `discard` sink: discards records and counts them (benchmarks, dry runs, backpressure demos). */
export const discardSink = defineSink({
  type: 'discard',
  summary: 'Discards records, counting them; each write may take a fixed delay.',
  schema,
  create(config) {
    return new DiscardSink(config.delay ?? 0);
  },
});
