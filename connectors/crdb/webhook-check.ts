import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { ConfigIssue } from '../../runtime/component.js';
import { messageOf } from '../../runtime/errors.js';
import { DEFAULT_LISTEN, listenOf } from './webhook-listen.js';
import type { CrdbWebhookSourceConfig } from './webhook-source.js';

/**
 * For `sluice validate --connect`: what would stop a `crdb_webhook` source from serving. The certificate, key and
 * client CA must be readable PEM (paths relative to `configDir`) and the key must belong to the certificate; the
 * `listen` address must be free to bind (it is bound and released at once). Reported at `tls.cert`, `tls.key`,
 * `tls.client_ca` and `listen`.
 */
export async function checkWebhookListener(config: CrdbWebhookSourceConfig, configDir: string): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const read = async (field: 'cert' | 'key' | 'client_ca', what: string): Promise<Buffer | undefined> => {
    const file = config.tls[field];
    if (file === undefined) return undefined;
    try {
      return await readFile(resolve(configDir, file));
    } catch (error) {
      issues.push({ path: ['tls', field], message: `cannot read the ${what} ${file}: ${messageOf(error)}` });
      return undefined;
    }
  };
  const cert = await read('cert', 'certificate');
  const key = await read('key', 'private key');
  const ca = await read('client_ca', 'client CA');
  if (cert !== undefined && key !== undefined) {
    try {
      createSecureContext({ cert, key });
    } catch (error) {
      issues.push({
        path: ['tls', 'key'],
        message: `the key ${config.tls.key} cannot serve the certificate ${config.tls.cert}: ${messageOf(error)}`,
      });
    }
  }
  if (ca !== undefined) {
    try {
      createSecureContext({ ca });
    } catch (error) {
      issues.push({ path: ['tls', 'client_ca'], message: `the client CA ${config.tls.client_ca} is no CA certificate: ${messageOf(error)}` });
    }
  }
  const address = listenOf(config.listen ?? DEFAULT_LISTEN);
  if (address !== undefined) {
    const problem = await new Promise<string | undefined>((done) => {
      const server = createServer();
      server.once('error', (error) => done(messageOf(error)));
      server.listen(address.port, address.host, () => server.close(() => done(undefined)));
    });
    if (problem !== undefined)
      issues.push({ path: ['listen'], message: `cannot listen on ${address.host}:${address.port}: ${problem}` });
  }
  return issues;
}
