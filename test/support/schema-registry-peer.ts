import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before } from 'node:test';

/**
 * A Confluent Schema Registry speaking the part of its REST API a consumer uses (`GET /schemas/ids/<id>`, `GET /subjects`), started
 * by the tests of one file. It answers 401 without the basic-auth credentials in {@link RegistryPeer.url}, 404
 * (error code 40403, as the registry does) for an unknown id, and 503 while `failing` is set.
 */
export interface RegistryPeer {
  /** The registry's URL with its credentials, as a changefeed's `confluent_schema_registry` would hold it. */
  readonly url: string;
  /** Registers a schema (its JSON form) and returns its id. */
  register(schema: object): number;
  /** Answer 503 to every request while true. */
  failing: boolean;
  /** The ids requested, in order (one entry per request that reached a schema lookup). */
  readonly requested: number[];
  /** Requests answered 503 because `failing` was set. */
  readonly refused: number;
}

const USER = 'sluice';
const SECRET = 'p@ss:word';

/** Starts a registry peer before the file's tests and stops it after them. */
export function useRegistryPeer(): RegistryPeer {
  const schemas = new Map<number, string>();
  let server: Server | undefined;
  const peer = {
    url: '',
    failing: false,
    requested: [] as number[],
    refused: 0,
    register(schema: object): number {
      const id = schemas.size + 1;
      schemas.set(id, JSON.stringify(schema));
      return id;
    },
  };
  const expected = `Basic ${Buffer.from(`${USER}:${SECRET}`).toString('base64')}`;
  before(async () => {
    server = createServer((request, response) => {
      const answer = (status: number, body: object) => {
        response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
        response.end(JSON.stringify(body));
      };
      if (request.headers.authorization !== expected)
        return answer(401, { error_code: 401, message: 'Unauthorized' });
      if (peer.failing) {
        peer.refused++;
        return answer(503, { error_code: 50302, message: 'unavailable' });
      }
      if (request.method === 'GET' && request.url === '/subjects') return answer(200, []);
      const match = /^\/schemas\/ids\/(\d+)$/.exec(request.url ?? '');
      if (request.method !== 'GET' || match === null)
        return answer(404, { error_code: 404, message: 'HTTP 404 Not Found' });
      const id = Number(match[1]);
      peer.requested.push(id);
      const schema = schemas.get(id);
      if (schema === undefined) return answer(404, { error_code: 40403, message: 'Schema not found' });
      answer(200, { schema });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    peer.url = `http://${USER}:${encodeURIComponent(SECRET)}@127.0.0.1:${port}/`;
  });
  after(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));
  return peer;
}

/** A message part in the Confluent wire format: magic byte 0, the schema id (4 bytes, big-endian), the Avro binary. */
export function confluentFrame(id: number, avro: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(id, 1);
  return Buffer.concat([header, avro]);
}
