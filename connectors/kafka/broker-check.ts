import Kafka from 'node-rdkafka';
import type { ConfigIssue } from '../../runtime/component.js';
import { messageOf } from '../../runtime/errors.js';
import type { SettingValue } from './client-settings.js';

/** Longest the check waits for the cluster's metadata, in milliseconds. */
const METADATA_TIMEOUT_MS = 5_000;

/** What {@link checkKafkaBrokers} connects with and looks for. */
export interface KafkaBrokerCheck {
  readonly brokers: string;
  /** librdkafka properties (TLS, SASL) the node connects with. */
  readonly settings?: Readonly<Record<string, SettingValue>>;
  /** Topics that must exist (a source's `topics`); none to check reachability only. */
  readonly topics?: readonly string[];
}

/**
 * For `sluice validate --connect`: connects to the cluster with the node's own settings and reads its metadata.
 * Reports brokers that cannot be reached (or refuse the credentials) at `brokers`, and each of `topics` the cluster
 * does not have at `topics.N`. Creates nothing: the metadata request names no topic.
 */
export async function checkKafkaBrokers(check: KafkaBrokerCheck): Promise<ConfigIssue[]> {
  const client = new Kafka.Producer({
    ...check.settings,
    'bootstrap.servers': check.brokers,
    'client.id': 'sluice-validate',
  });
  let metadata: Kafka.Metadata;
  try {
    await new Promise<void>((resolve, reject) =>
      client.connect({ timeout: METADATA_TIMEOUT_MS }, (error) =>
        error ? reject(new Error(error.message)) : resolve(),
      ),
    );
    metadata = await new Promise<Kafka.Metadata>((resolve, reject) => {
      client.getMetadata({ timeout: METADATA_TIMEOUT_MS }, (error, data) =>
        error ? reject(new Error(error.message)) : resolve(data),
      );
    });
  } catch (error) {
    return [
      {
        path: ['brokers'],
        message: `cannot read the metadata of the Kafka cluster at ${check.brokers}: ${messageOf(error)}`,
      },
    ];
  } finally {
    if (client.isConnected()) await new Promise<void>((resolve) => client.disconnect(() => resolve()));
  }
  const known = new Set(metadata.topics.map((topic) => topic.name));
  return (check.topics ?? []).flatMap((topic, index) =>
    known.has(topic)
      ? []
      : [{ path: ['topics', index], message: `topic "${topic}" does not exist on the Kafka cluster at ${check.brokers}` }],
  );
}
