import { readFileSync } from 'node:fs';
import { request } from 'node:https';

/** What a webhook POST got back. */
export interface WebhookAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** `performance.now()` when the answer's headers arrived. */
  readonly at: number;
}

/** How to send one request the way a CockroachDB webhook sink does. */
export interface WebhookPostOptions {
  /** PEM of the CA that signed the server certificate. */
  readonly ca: Buffer;
  readonly method?: string;
  readonly authorization?: string;
  /** Client certificate and key files. */
  readonly clientCert?: string;
  readonly clientKey?: string;
  /** Sends the body in chunks without a Content-Length. */
  readonly chunked?: boolean;
}

/**
 * Sends one HTTPS request (by default a POST with `Content-Type: application/json`, as CockroachDB's webhook sink
 * does) on a fresh connection and resolves with the answer, or rejects when the connection fails.
 */
export function postWebhook(
  url: string,
  body: string | Buffer,
  options: WebhookPostOptions,
): Promise<WebhookAnswer> {
  return new Promise((resolve, reject) => {
    const data = typeof body === 'string' ? Buffer.from(body) : body;
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json' };
    if (!options.chunked) headers['Content-Length'] = data.length;
    if (options.authorization !== undefined) headers.Authorization = options.authorization;
    const client = request(
      url,
      {
        method: options.method ?? 'POST',
        headers,
        ca: options.ca,
        agent: false,
        ...(options.clientCert === undefined
          ? {}
          : { cert: readFileSync(options.clientCert), key: readFileSync(options.clientKey!) }),
      },
      (response) => {
        const at = performance.now();
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString(),
            at,
          }),
        );
        response.on('error', reject);
      },
    );
    client.on('error', reject);
    if (options.chunked) {
      const size = 64 * 1024;
      for (let offset = 0; offset < data.length; offset += size)
        client.write(data.subarray(offset, offset + size));
      client.end();
    } else {
      client.end(data);
    }
  });
}

/**
 * A webhook-sink batch body `{"payload": [...], "length": N}` from raw message texts, keeping their exact digits.
 * `length` defaults to the number of messages.
 */
export function webhookBatch(messages: readonly string[], length = messages.length): string {
  return `{"payload":[${messages.join(',')}],"length":${length}}`;
}

/**
 * A raw changefeed value (an object's JSON text) with fields added in front, as the webhook sink's `key_in_value`
 * and `topic_in_value` add `key` and `topic`. The value's own text, and so its digits, stays as it is.
 */
export function withFields(valueRaw: string, fields: Record<string, unknown>): string {
  const rest = valueRaw.trim().replace(/^\{/, '');
  const added = Object.entries(fields).map(
    ([name, value]) => `${JSON.stringify(name)}:${JSON.stringify(value)}`,
  );
  return `{${added.join(',')}${rest.trim().startsWith('}') ? '' : ','}${rest}`;
}
