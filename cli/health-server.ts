import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SluiceError, messageOf } from '../runtime/errors.js';
import type { Readiness } from '../runtime/telemetry/pipeline-health.js';

/** What the health server answers from. */
export interface HealthSources {
  /** The pipeline's readiness now. */
  readonly readiness: () => Readiness;
  /** Answers `/metrics` (Prometheus text); absent: 404. */
  readonly metrics?: (request: IncomingMessage, response: ServerResponse) => void;
}

/** A listening health server. */
export interface HealthServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and closes open connections. Idempotent. */
  close(): Promise<void>;
}

function answer(
  response: ServerResponse,
  status: number,
  body: string,
  type = 'text/plain; charset=utf-8',
): void {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

/**
 * Serves `GET /healthz` (200 while the process answers), `GET /readyz` (200 when ready, else 503 with one reason
 * per line) and `GET /metrics` (Prometheus text) on `host:port` (port 0: a free one). Rejects with
 * `HEALTH_SERVER_FAILED` when the address cannot be bound (in use, not permitted).
 */
export async function startHealthServer(
  host: string,
  port: number,
  sources: HealthSources,
): Promise<HealthServer> {
  const server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      answer(response, 405, `expected GET, got ${request.method ?? 'no method'}\n`);
      return;
    }
    if (path === '/healthz') {
      answer(response, 200, 'ok\n');
      return;
    }
    if (path === '/readyz') {
      let readiness: Readiness;
      try {
        readiness = sources.readiness();
      } catch (error) {
        answer(response, 503, `readiness check failed: ${messageOf(error)}\n`);
        return;
      }
      if (readiness.ready) answer(response, 200, 'ready\n');
      else
        answer(response, 503, `not ready:\n${readiness.reasons.map((reason) => `- ${reason}`).join('\n')}\n`);
      return;
    }
    if (path === '/metrics' && sources.metrics !== undefined) {
      sources.metrics(request, response);
      return;
    }
    answer(response, 404, `no such endpoint ${path ?? ''}; try /healthz, /readyz or /metrics\n`);
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void =>
      reject(
        new SluiceError(
          'HEALTH_SERVER_FAILED',
          `the health server could not listen on ${host}:${port} (observability.health): ${error.message}`,
          { cause: error },
        ),
      );
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    port: bound,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closed;
    },
  };
}
