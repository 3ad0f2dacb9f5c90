import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** PEM files for a webhook test: a CA, a server certificate for 127.0.0.1 it signed, and client certificates. */
export interface WebhookCertificates {
  readonly dir: string;
  /** Paths of the PEM files. */
  readonly files: {
    readonly ca: string;
    readonly serverCert: string;
    readonly serverKey: string;
    readonly clientCert: string;
    readonly clientKey: string;
    /** A client certificate signed by another CA, which the server must refuse. */
    readonly strangerCert: string;
    readonly strangerKey: string;
  };
  /** The CA's PEM text, for clients that verify the server. */
  readonly caPem: Buffer;
  /** Removes the directory. */
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

function authority(dir: string, name: string): void {
  openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
  ]);
}

function issue(dir: string, ca: string, name: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  ]);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.crt`,
  ]);
}

/** Generates fresh certificates with the `openssl` command in a temporary directory (about 100 ms). */
export function makeWebhookCertificates(): WebhookCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-crdb-certs-'));
  authority(dir, 'ca');
  authority(dir, 'stranger-ca');
  issue(dir, 'ca', 'server', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  issue(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
  issue(dir, 'stranger-ca', 'stranger', 'extendedKeyUsage=clientAuth\n');
  const path = (file: string) => join(dir, file);
  return {
    dir,
    files: {
      ca: path('ca.crt'),
      serverCert: path('server.crt'),
      serverKey: path('server.key'),
      clientCert: path('client.crt'),
      clientKey: path('client.key'),
      strangerCert: path('stranger.crt'),
      strangerKey: path('stranger.key'),
    },
    caPem: readFileSync(path('ca.crt')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
