import { resolve } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { type ConfigIssue, defineSource } from '../../runtime/component.js';
import { parseSize, PIPELINE_SCHEMA } from '../../runtime/config/index.js';
import { SluiceError } from '../../runtime/errors.js';
import { CHANGEFEED_DECODE_PROPERTIES } from './changefeed-source-schema.js';
import { CrdbWebhookSource } from './webhook-changefeed-source.js';
import { DEFAULT_LISTEN, listenOf } from './webhook-listen.js';

const DEFAULT_MAX_BODY = 8 * 1024 * 1024;
const DEFAULT_MAX_PENDING_REQUESTS = 16;

const schema = Type.Object(
  {
    listen: Type.Optional(
      Type.String({
        default: DEFAULT_LISTEN,
        description:
          'host:port to serve HTTPS on (a bare port listens on 127.0.0.1; 0.0.0.0 for every interface).',
      }),
    ),
    path: Type.Optional(
      Type.String({
        pattern: '^/',
        default: '/',
        description: 'The URL path the changefeed POSTs to, e.g. /changefeed.',
      }),
    ),
    tls: Type.Object(
      {
        cert: Type.String({
          minLength: 1,
          description: "The server certificate (PEM), relative to the config file's directory.",
        }),
        key: Type.String({ minLength: 1, description: 'The server private key (PEM).' }),
        client_ca: Type.Optional(
          Type.String({
            minLength: 1,
            description: 'A CA (PEM): when set, the changefeed must present a client certificate it signed.',
          }),
        ),
      },
      {
        additionalProperties: false,
        description: 'HTTPS settings (required: CockroachDB only posts to webhook-https:// URLs).',
      },
    ),
    authorization: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'The exact Authorization header every POST must carry, e.g. ${CRDB_WEBHOOK_AUTH}; compared in constant time.',
      }),
    ),
    max_body: Type.Optional(
      PIPELINE_SCHEMA.size('Largest POST body accepted; larger ones are answered 413.', '8MiB'),
    ),
    max_pending_requests: Type.Optional(
      Type.Integer({
        minimum: 1,
        default: DEFAULT_MAX_PENDING_REQUESTS,
        description:
          'POSTs received and not yet read by the pipeline before new ones are answered 429 (the changefeed retries them).',
      }),
    ),
    retry_after_seconds: Type.Optional(
      Type.Integer({ minimum: 0, default: 1, description: 'The Retry-After of 429 and 503 answers.' }),
    ),
    ...CHANGEFEED_DECODE_PROPERTIES,
  },
  { additionalProperties: false },
);

/** The `crdb_webhook` source's options as YAML gives them. */
export type CrdbWebhookSourceConfig = Static<typeof schema>;

function issuesOf(config: CrdbWebhookSourceConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (config.listen !== undefined && listenOf(config.listen) === undefined) {
    issues.push({
      path: ['listen'],
      message: `expected host:port or a port (0-65535), got ${JSON.stringify(config.listen)}`,
    });
  }
  try {
    if (config.max_body !== undefined && parseSize(config.max_body) < 1)
      issues.push({ path: ['max_body'], message: 'expected at least 1 byte' });
  } catch (error) {
    issues.push({ path: ['max_body'], message: (error as Error).message });
  }
  return issues;
}

/**
 * `type: crdb_webhook` source: an HTTPS endpoint for a CockroachDB changefeed's webhook sink
 * (`CREATE CHANGEFEED ... INTO 'webhook-https://host:port/path?insecure_tls_skip_verify=false'`). A POST is answered
 * 200 only once its records are in every sink or the DLQ.
 */
export const crdbWebhookSource = defineSource({
  type: 'crdb_webhook',
  summary:
    'Serves HTTPS for a CockroachDB webhook changefeed; answers each POST only once its records are handled (at least once).',
  schema,
  check: issuesOf,
  watermarksAwaitAcks: true,
  create(config, context) {
    const issues = issuesOf(config);
    if (issues.length > 0) {
      throw new SluiceError(
        'CONFIG_INVALID',
        `crdb_webhook source "${context.node}": ${issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      );
    }
    const { host, port } = listenOf(config.listen ?? DEFAULT_LISTEN)!;
    return new CrdbWebhookSource({
      host,
      port,
      path: config.path ?? '/',
      tls: {
        cert: resolve(context.configDir, config.tls.cert),
        key: resolve(context.configDir, config.tls.key),
        ...(config.tls.client_ca === undefined
          ? {}
          : { clientCa: resolve(context.configDir, config.tls.client_ca) }),
      },
      ...(config.authorization === undefined ? {} : { authorization: config.authorization }),
      maxBodyBytes: config.max_body === undefined ? DEFAULT_MAX_BODY : parseSize(config.max_body),
      maxPendingRequests: config.max_pending_requests ?? DEFAULT_MAX_PENDING_REQUESTS,
      retryAfterSeconds: config.retry_after_seconds ?? 1,
      decode: {
        envelope: config.envelope ?? 'wrapped',
        ...(config.key_columns === undefined ? {} : { keyColumns: config.key_columns }),
      },
    });
  },
});
