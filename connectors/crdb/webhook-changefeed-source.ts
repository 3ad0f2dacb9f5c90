import { isUtf8 } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { DeadLetter } from '../../runtime/dead-letter.js';
import { messageOf, NotConnectedError, SluiceError } from '../../runtime/errors.js';
import { stringifyJson } from '../../runtime/json.js';
import type { ChangeRecord } from '../../runtime/record.js';
import type { Source, SourceBatch, SourceContext } from '../../runtime/source.js';
import type { ChangefeedDecodeOptions } from './changefeed-decode-options.js';
import type { ChangefeedEvent } from './changefeed-event.js';
import { decodeChangefeedValue } from './decode-changefeed-value.js';
import { decodeWebhookBody } from './decode-webhook-body.js';
import type { Hlc } from './hlc.js';
import { isRow } from './json-shapes.js';
import { readJsonMessage } from './read-json-message.js';
import { ResolvedCheckpoint } from './resolved-checkpoint.js';

/** Everything a {@link CrdbWebhookSource} needs, already validated (see `webhook-source.ts` for the YAML options). */
export interface CrdbWebhookSourceOptions {
  /** Interface to listen on (`127.0.0.1` by default in YAML). */
  readonly host: string;
  /** TCP port; 0 picks a free one (see {@link CrdbWebhookSource.address}). */
  readonly port: number;
  /** The only path POSTs are accepted on, e.g. `/changefeed`. */
  readonly path: string;
  /** PEM files: the server certificate and key, and the CA client certificates must chain to (then required). */
  readonly tls: { readonly cert: string; readonly key: string; readonly clientCa?: string };
  /** The exact `Authorization` header value a POST must carry, when set. Never logged. */
  readonly authorization?: string;
  /** Largest body accepted, in bytes; a larger one is answered 413 without reading the rest. */
  readonly maxBodyBytes: number;
  /** Requests received and not yet handed to the pipeline before new ones are answered 429. */
  readonly maxPendingRequests: number;
  /** Seconds a 429 or 503 answer asks the changefeed to wait (`Retry-After`). */
  readonly retryAfterSeconds: number;
  /** Decoder settings (envelope, key columns). */
  readonly decode: Pick<ChangefeedDecodeOptions, 'envelope' | 'keyColumns'>;
}

/** A decoded POST waiting to be handed out, or handed out and waiting for its acknowledgement. */
interface PendingRequest {
  readonly response: ServerResponse;
  readonly records: ChangeRecord[];
  readonly rejected: DeadLetter[];
  readonly resolved: Hlc | undefined;
  readonly bytes: number;
}

/** The listener of a running source. */
interface Running {
  readonly context: SourceContext;
  readonly server: Server;
  readonly checkpoint: ResolvedCheckpoint;
  readonly onAbort: () => void;
}

/**
 * A CockroachDB webhook-sink endpoint: an HTTPS server a changefeed created with `INTO 'webhook-https://…'` POSTs
 * its batches to. Each POST becomes one `SourceBatch`, and its HTTP answer waits for the batch's acknowledgement:
 * 200 only once every record is in the sinks or the DLQ. Anything else is answered with a status CockroachDB
 * retries (it retries every non-2xx POST), so nothing is lost and duplicates are possible (at least once):
 * - 503 with `Retry-After` while the pipeline stops, and for batches it handled only in part;
 * - 429 with `Retry-After` while `maxPendingRequests` decoded POSTs wait for the pipeline to read them;
 * - 401 for a missing or wrong `Authorization` (compared in constant time), 413 above `maxBodyBytes`,
 *   400 for a body that is not webhook framing at all, 404 for other paths, 405 for other methods.
 * One undecodable message inside a valid frame goes to the DLQ and the rest of the POST proceeds.
 * A resolved-timestamp POST becomes an empty batch whose `watermark` is the HLC; the checkpoint (kept for
 * inspection: CockroachDB itself replays unacknowledged POSTs) is the last resolved timestamp whose changes are
 * all handled.
 */
export class CrdbWebhookSource implements Source {
  readonly bounded = false;
  readonly #options: CrdbWebhookSourceOptions;
  readonly #authorizationDigest: Buffer | undefined;
  #running: Running | undefined;
  /** Decoded POSTs not yet handed out, oldest first. */
  #queue: PendingRequest[] = [];
  /** POSTs handed out and not yet acknowledged. */
  readonly #inFlight = new Set<PendingRequest>();
  #waiter: (() => void) | undefined;
  #stopping = false;
  #closed: Promise<void> | undefined;
  #sequence = 0;

  constructor(options: CrdbWebhookSourceOptions) {
    this.#options = options;
    this.#authorizationDigest =
      options.authorization === undefined ? undefined : digest(options.authorization);
  }

  /** The address the server listens on (the real port when the options asked for port 0). */
  address(): AddressInfo {
    const address = this.#running?.server.address();
    if (address === undefined || address === null || typeof address === 'string')
      throw new NotConnectedError('crdb_webhook source');
    return address;
  }

  async connect(context: SourceContext): Promise<void> {
    const options = this.#options;
    const where = `crdb_webhook source "${context.name}"`;
    const [cert, key, ca] = await Promise.all(
      [options.tls.cert, options.tls.key, options.tls.clientCa].map(async (file) => {
        if (file === undefined) return undefined;
        try {
          return await readFile(file);
        } catch (cause) {
          throw new SluiceError(
            'CRDB_WEBHOOK_TLS_FILE',
            `${where}: expected a readable PEM file at ${file}: ${messageOf(cause)}`,
            { cause },
          );
        }
      }),
    );
    const checkpoint = await ResolvedCheckpoint.load(context.checkpoints, context.logger, where);
    let server: Server;
    try {
      server = createServer(
        { cert, key, ...(ca === undefined ? {} : { ca, requestCert: true, rejectUnauthorized: true }) },
        (request, response) => this.#onRequest(request, response, context.name),
      );
    } catch (cause) {
      throw new SluiceError(
        'CRDB_WEBHOOK_TLS_INVALID',
        `${where}: expected a PEM certificate and matching key in ${options.tls.cert} and ${options.tls.key}: ${messageOf(cause)}`,
        { cause },
      );
    }
    server.on('tlsClientError', (error) =>
      context.logger.debug({ err: error }, 'webhook TLS handshake failed'),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (cause) {
      throw new SluiceError(
        'CRDB_WEBHOOK_LISTEN_FAILED',
        `${where}: could not listen on ${options.host}:${options.port}: ${messageOf(cause)}`,
        {
          retriable: true,
          cause,
        },
      );
    }
    server.on('error', (error) => context.logger.error({ err: error }, 'webhook server error'));
    this.#queue = [];
    this.#stopping = false;
    this.#closed = undefined;
    const onAbort = () => this.#stop();
    context.signal.addEventListener('abort', onAbort, { once: true });
    this.#running = { context, server, checkpoint, onAbort };
    if (context.signal.aborted) this.#stop();
    const { port } = this.address();
    context.logger.info(
      { host: options.host, port, path: options.path, resumedAfter: checkpoint.committed?.toString() },
      `${where} listening`,
    );
  }

  async read(): Promise<SourceBatch | null> {
    const running = this.#running;
    if (running === undefined || this.#closed !== undefined)
      throw new NotConnectedError('crdb_webhook source');
    for (;;) {
      if (running.checkpoint.failure) throw running.checkpoint.failure;
      if (this.#stopping) return null;
      const next = this.#queue.shift();
      if (next !== undefined) return this.#handOut(next, running.checkpoint);
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  #handOut(request: PendingRequest, checkpoint: ResolvedCheckpoint): SourceBatch {
    this.#inFlight.add(request);
    const handled = checkpoint.track(request.resolved);
    let acknowledged = false;
    return {
      records: request.records,
      ...(request.rejected.length > 0 ? { rejected: request.rejected } : {}),
      bytes: request.bytes,
      ...(request.resolved === undefined ? {} : { watermark: request.resolved.toString() }),
      ack: (count?: number) => {
        if (acknowledged) return;
        acknowledged = true;
        this.#inFlight.delete(request);
        const complete = count === undefined || count >= request.records.length;
        handled(complete);
        if (complete) answer(request.response, 200, 'handled');
        else
          this.#refuse(
            request.response,
            503,
            `only ${count} of ${request.records.length} records were handled; send the batch again`,
          );
      },
    };
  }

  #onRequest(request: IncomingMessage, response: ServerResponse, name: string): void {
    const options = this.#options;
    const path = (request.url ?? '/').split('?', 1)[0];
    if (path !== options.path)
      return answer(response, 404, `expected POSTs on ${options.path}, got a request for ${path}`, true);
    if (request.method !== 'POST') {
      response.setHeader('Allow', 'POST');
      return answer(response, 405, `expected POST, got ${request.method}`, true);
    }
    if (this.#stopping || this.#running === undefined)
      return this.#refuse(response, 503, 'the pipeline is stopping', true);
    if (!this.#authorized(request.headers.authorization))
      return answer(response, 401, 'expected a valid Authorization header', true);
    const declared = Number(request.headers['content-length']);
    if (declared > options.maxBodyBytes) return this.#tooLarge(response, `${declared}`);
    if (this.#queue.length >= options.maxPendingRequests) {
      return this.#refuse(
        response,
        429,
        `${this.#queue.length} requests are already waiting for the pipeline`,
        true,
      );
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let discarded = false;
    request.on('data', (chunk: Buffer) => {
      if (discarded) return;
      size += chunk.length;
      if (size > options.maxBodyBytes) {
        discarded = true;
        request.pause();
        this.#tooLarge(response, `more than ${options.maxBodyBytes}`);
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', () => response.destroy());
    request.on('end', () => {
      if (!discarded) this.#accept(Buffer.concat(chunks), response, name);
    });
  }

  #accept(body: Buffer, response: ServerResponse, name: string): void {
    if (this.#stopping) return this.#refuse(response, 503, 'the pipeline is stopping');
    if (this.#queue.length >= this.#options.maxPendingRequests) {
      return this.#refuse(
        response,
        429,
        `${this.#queue.length} requests are already waiting for the pipeline`,
      );
    }
    const sequence = ++this.#sequence;
    const { envelope, keyColumns } = this.#options.decode;
    // Field by field, not by spreading: see crdb_kafka's decoder.
    const decodeOptions: ChangefeedDecodeOptions = {
      envelope,
      keyColumns,
      sourceName: name,
      position: `post-${sequence}`,
    };
    let decoded: { events: ChangefeedEvent[]; rejected: DeadLetter[] };
    try {
      decoded = decodeBody(body, decodeOptions, name);
    } catch (error) {
      // CockroachDB would send the same body again and again on a 4xx: it goes to the DLQ whole instead, and the
      // POST is answered once it is there.
      this.#running?.context.logger.warn(
        { position: decodeOptions.position, err: error },
        'webhook body is not a changefeed batch: it goes to the DLQ whole',
      );
      const letter: DeadLetter = {
        node: name,
        reason: `the POST body is not a CockroachDB webhook batch ({"payload":[...],"length":N}) or resolved message: ${messageOf(error)}`,
        source: { name, position: decodeOptions.position },
        raw: isUtf8(body) ? body.toString('utf8') : new Uint8Array(body),
      };
      decoded = { events: [], rejected: [letter] };
    }
    const records: ChangeRecord[] = [];
    let resolved: Hlc | undefined;
    for (const event of decoded.events) {
      if (event.kind === 'change') records.push(event.record);
      else if (resolved === undefined || event.hlc.compareTo(resolved) > 0) resolved = event.hlc;
    }
    const pending: PendingRequest = {
      response,
      records,
      rejected: decoded.rejected,
      resolved,
      bytes: body.length,
    };
    this.#queue.push(pending);
    // CockroachDB gave up on a queued POST (its client timeout): it will send it again, so drop this copy.
    response.once('close', () => {
      const index = this.#queue.indexOf(pending);
      if (index >= 0 && !response.writableFinished) this.#queue.splice(index, 1);
    });
    this.#wake();
  }

  #authorized(header: string | undefined): boolean {
    const expected = this.#authorizationDigest;
    if (expected === undefined) return true;
    return header !== undefined && timingSafeEqual(digest(header), expected);
  }

  #tooLarge(response: ServerResponse, got: string): void {
    this.#running?.context.logger.error(
      { maxBodyBytes: this.#options.maxBodyBytes },
      `refused a POST of ${got} bytes (413): CockroachDB sends it again until max_body is at least its webhook_sink_config Flush.Bytes`,
    );
    answer(response, 413, `expected a body of at most ${this.#options.maxBodyBytes} bytes, got ${got}`, true);
  }

  #refuse(response: ServerResponse, status: 429 | 503, reason: string, closeConnection = false): void {
    response.setHeader('Retry-After', String(this.#options.retryAfterSeconds));
    answer(response, status, reason, closeConnection);
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  /** Stops taking POSTs: queued ones are answered 503 (CockroachDB sends them again); handed-out ones still wait for their acknowledgement. */
  #stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const request of this.#queue.splice(0))
      this.#refuse(request.response, 503, 'the pipeline is stopping');
    this.#wake();
  }

  async #shutdown(): Promise<void> {
    const running = this.#running;
    this.#stop();
    if (running === undefined) return;
    for (const request of [...this.#inFlight])
      this.#refuse(request.response, 503, 'the pipeline stopped before the batch was handled');
    this.#inFlight.clear();
    running.context.signal.removeEventListener('abort', running.onAbort);
    await new Promise<void>((resolve) => {
      running.server.close(() => resolve());
      running.server.closeAllConnections();
    });
    await running.checkpoint.flush();
    this.#running = undefined;
  }
}

/** The webhook body's events and the messages inside a valid frame that could not be decoded. */
function decodeBody(
  body: Buffer,
  options: ChangefeedDecodeOptions,
  name: string,
): { events: ChangefeedEvent[]; rejected: DeadLetter[] } {
  try {
    return { events: decodeWebhookBody(body, options), rejected: [] };
  } catch (error) {
    // Decode again message by message, unless the body is not a webhook frame at all (then the caller sets it aside).
    const parsed = readJsonMessage(body, 'webhook body', options.position);
    if (!isRow(parsed) || !Array.isArray(parsed.payload) || parsed.length !== parsed.payload.length)
      throw error;
    const events: ChangefeedEvent[] = [];
    const rejected: DeadLetter[] = [];
    parsed.payload.forEach((message, index) => {
      const position = `${options.position}#${index}`;
      try {
        events.push(decodeChangefeedValue(message, undefined, { options, position }));
      } catch (cause) {
        if (!(cause instanceof SluiceError)) throw cause;
        rejected.push({
          node: name,
          reason: cause.message,
          source: { name, position },
          raw: stringifyJson(message),
        });
      }
    });
    return { events, rejected };
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function answer(response: ServerResponse, status: number, message: string, closeConnection = false): void {
  if (response.headersSent || response.destroyed) return;
  if (closeConnection) response.setHeader('Connection', 'close');
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(`${message}\n`);
}
