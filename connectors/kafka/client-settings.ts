import { Type } from '@sinclair/typebox';
import type { ConfigIssue } from '../../runtime/component.js';

/** A librdkafka setting's value as YAML gives it. */
export type SettingValue = string | number | boolean;

/** The `settings` option: librdkafka properties passed through unchanged (TLS, SASL, tuning). */
export const settingsSchema = Type.Record(
  Type.String({ minLength: 1 }),
  Type.Union([Type.String(), Type.Number(), Type.Boolean()]),
  {
    default: {},
    description:
      "librdkafka properties passed through as they are, e.g. { 'security.protocol': ssl, 'sasl.mechanisms': PLAIN }. " +
      'Values are never logged. Properties Sluice manages itself (brokers, group, commits, callbacks) are refused.',
  },
);

/** Issues for `settings` entries that would override what Sluice manages (`reserved`). */
export function reservedSettingIssues(
  settings: Record<string, SettingValue>,
  reserved: readonly string[],
): ConfigIssue[] {
  return Object.keys(settings)
    .filter((name) => reserved.includes(name) || name.endsWith('_cb'))
    .map((name) => ({
      path: ['settings', name],
      message: `librdkafka property "${name}" is managed by Sluice and cannot be set in settings; use the connector's own options`,
    }));
}
