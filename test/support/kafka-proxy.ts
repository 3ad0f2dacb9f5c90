import { pipeline, Transform } from 'node:stream';
import { TcpProxy, type Relay } from './tcp-proxy.js';

/** The host the proxy listens on (TcpProxy's). */
const PROXY_HOST = '127.0.0.1';

/** Kafka API keys the proxy reads responses of. */
const API = { metadata: 3, findCoordinator: 10, apiVersions: 18 } as const;

/**
 * Highest versions the proxy lets clients use, by API key: the newest non-flexible versions, whose responses it can
 * rewrite (Metadata, FindCoordinator), or that name no broker address (Produce v10+ and Fetch v16+ may name a new
 * leader's address in tagged fields, KIP-951).
 */
const MAX_VERSIONS = new Map<number, number>([
  [0, 9], // Produce
  [1, 15], // Fetch
  [API.metadata, 8],
  [API.findCoordinator, 2],
]);

/** The API key and version of a request whose response has not come yet. */
interface Request {
  readonly apiKey: number;
  readonly apiVersion: number;
}

/**
 * A TCP proxy in front of every broker of a Kafka cluster, for outage tests: one listener on 127.0.0.1 per broker,
 * and broker addresses in responses (Metadata, FindCoordinator) rewritten to the listeners', so a client bootstrapped
 * with {@link bootstrapServers} keeps talking through the proxy. {@link cut} drops every connection and refuses new
 * ones until {@link restore}. It caps the versions a broker offers (ApiVersions) to the ones it can rewrite; other
 * frames pass unchanged, and addresses of brokers it does not front (or "no coordinator") too.
 */
export class KafkaProxy {
  readonly #proxies: readonly TcpProxy[];

  private constructor(proxies: readonly TcpProxy[]) {
    this.#proxies = proxies;
  }

  /** Starts a proxy for the brokers of `bootstrapServers` (`host:port,...`: every broker the cluster advertises). */
  static async start(bootstrapServers: string): Promise<KafkaProxy> {
    const fronted = new Map<string, number>();
    const relay: Relay = (client, upstream) => {
      const inFlight = new Map<number, Request>();
      const ignore = () => undefined;
      pipeline(
        client,
        frames((frame) => noteRequest(frame, inFlight)),
        upstream,
        ignore,
      );
      pipeline(
        upstream,
        frames((frame) => rewriteResponse(frame, inFlight, fronted)),
        client,
        ignore,
      );
    };
    const proxies = await Promise.all(
      bootstrapServers.split(',').map(async (address) => {
        const [host, port] = splitAddress(address.trim());
        const proxy = await TcpProxy.start(host, port, relay);
        fronted.set(`${host}:${port}`, proxy.port);
        return proxy;
      }),
    );
    return new KafkaProxy(proxies);
  }

  /** The proxy's addresses, one per broker, for `bootstrap.servers`. */
  get bootstrapServers(): string {
    return this.#proxies.map((proxy) => `${PROXY_HOST}:${proxy.port}`).join(',');
  }

  /** Connections accepted and forwarded so far, to every broker (refused ones not counted). */
  get connections(): number {
    return this.#proxies.reduce((sum, proxy) => sum + proxy.connections, 0);
  }

  /** Drops every open connection (reset) and refuses new ones until {@link restore}. */
  cut(): void {
    for (const proxy of this.#proxies) proxy.cut();
  }

  /** Accepts and forwards connections again. */
  restore(): void {
    for (const proxy of this.#proxies) proxy.restore();
  }

  /** Drops every connection and stops listening. */
  async close(): Promise<void> {
    await Promise.all(this.#proxies.map((proxy) => proxy.close()));
  }
}

/** `host:port` as host and port. */
function splitAddress(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  const port = Number(address.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port)) throw new Error(`expected host:port, got "${address}"`);
  return [address.slice(0, colon), port];
}

/**
 * A stream that cuts Kafka frames (a 4-byte big-endian size, then that many bytes) out of the bytes written to it,
 * however they are split, and passes on `edit(frame)` for each, size prefix included.
 */
function frames(edit: (frame: Buffer) => Buffer): Transform {
  let chunks: Buffer[] = [];
  let buffered = 0;
  // Bytes needed before the next frame can be passed on: its size prefix, then the whole frame once that is known.
  let needed = 4;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      chunks.push(chunk);
      buffered += chunk.length;
      try {
        while (buffered >= needed) {
          const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, buffered);
          const end = 4 + bytes.readInt32BE(0);
          if (bytes.length < end) {
            chunks = [bytes];
            needed = end;
            break;
          }
          this.push(edit(bytes.subarray(0, end)));
          chunks = bytes.length > end ? [bytes.subarray(end)] : [];
          buffered = bytes.length - end;
          needed = 4;
        }
        done();
      } catch (error) {
        process.emitWarning(`kafka proxy: ${(error as Error).message}; the connection is dropped`);
        done(error as Error);
      }
    },
  });
}

/** Remembers a request's API key and version by its correlation id; the request goes on unchanged. */
function noteRequest(frame: Buffer, inFlight: Map<number, Request>): Buffer {
  inFlight.set(frame.readInt32BE(8), { apiKey: frame.readInt16BE(4), apiVersion: frame.readInt16BE(6) });
  return frame;
}

/** The response with its broker addresses replaced by the proxy's and versions capped, or unchanged. */
function rewriteResponse(
  frame: Buffer,
  inFlight: Map<number, Request>,
  fronted: ReadonlyMap<string, number>,
): Buffer {
  const correlationId = frame.readInt32BE(4);
  const request = inFlight.get(correlationId);
  if (request === undefined) return frame;
  inFlight.delete(correlationId);
  switch (request.apiKey) {
    case API.apiVersions:
      return capVersions(frame, request.apiVersion);
    case API.metadata:
      return replaceAddresses(frame, metadataAddresses(frame, request.apiVersion), fronted);
    case API.findCoordinator:
      return replaceAddresses(frame, [coordinatorAddress(frame, request.apiVersion)], fronted);
    default:
      return frame;
  }
}

/** Reads a frame field by field. */
class FrameReader {
  offset: number;
  readonly #frame: Buffer;

  constructor(frame: Buffer, offset: number) {
    this.#frame = frame;
    this.offset = offset;
  }

  int16(): number {
    const value = this.#frame.readInt16BE(this.offset);
    this.offset += 2;
    return value;
  }

  int32(): number {
    const value = this.#frame.readInt32BE(this.offset);
    this.offset += 4;
    return value;
  }

  /** A string: int16 length, then UTF-8. */
  string(): string {
    const length = this.int16();
    if (length < 0) throw new Error(`a null string at byte ${this.offset - 2}, where a string was expected`);
    const value = this.#frame.toString('utf8', this.offset, this.offset + length);
    this.offset += length;
    return value;
  }

  /** Skips a nullable string (length -1 for null). */
  skipNullableString(): void {
    const length = this.int16();
    this.offset += Math.max(0, length);
  }

  unsignedVarint(): number {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = this.#frame.readUInt8(this.offset++);
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  }

  /** Skips a tagged-fields section (flexible versions). */
  skipTaggedFields(): void {
    for (let count = this.unsignedVarint(); count > 0; count--) {
      this.unsignedVarint();
      const size = this.unsignedVarint();
      this.offset += size;
    }
  }
}

/**
 * The ApiVersions response with the max version of every API in {@link MAX_VERSIONS} capped (in place: same size).
 * Its header is always v0; v3+ bodies are flexible (compact array, tagged fields). An error response (to an
 * ApiVersions version the broker does not support) is left as it is: the client asks again with a lower version.
 */
function capVersions(frame: Buffer, version: number): Buffer {
  const capped = Buffer.from(frame);
  const reader = new FrameReader(capped, 8);
  if (reader.int16() !== 0) return frame;
  const flexible = version >= 3;
  const count = flexible ? reader.unsignedVarint() - 1 : reader.int32();
  for (let index = 0; index < count; index++) {
    const apiKey = reader.int16();
    const min = reader.int16();
    const max = reader.int16();
    const cap = MAX_VERSIONS.get(apiKey);
    if (cap !== undefined && max > cap) {
      if (min > cap)
        throw new Error(`the broker supports API ${apiKey} from version ${min} only, above ${cap}`);
      capped.writeInt16BE(cap, reader.offset - 2);
    }
    if (flexible) reader.skipTaggedFields();
  }
  return capped;
}

/**
 * Where the brokers' addresses are in a Metadata response (v0–v8): after the header (correlation id) and
 * throttle_time_ms (v3+), brokers [node_id, host, port, rack (v1+)].
 */
function metadataAddresses(frame: Buffer, version: number): number[] {
  if (version > MAX_VERSIONS.get(API.metadata)!) throw new Error(`Metadata v${version} cannot be rewritten`);
  const reader = new FrameReader(frame, 8);
  if (version >= 3) reader.int32();
  const offsets: number[] = [];
  for (let count = reader.int32(); count > 0; count--) {
    reader.int32();
    offsets.push(reader.offset);
    reader.string();
    reader.int32();
    if (version >= 1) reader.skipNullableString();
  }
  return offsets;
}

/**
 * Where the coordinator's address is in a FindCoordinator response (v0–v2): after the header (correlation id),
 * throttle_time_ms (v1+), error_code, error_message (v1+) and node_id.
 */
function coordinatorAddress(frame: Buffer, version: number): number {
  if (version > MAX_VERSIONS.get(API.findCoordinator)!)
    throw new Error(`FindCoordinator v${version} cannot be rewritten`);
  const reader = new FrameReader(frame, 8);
  if (version >= 1) reader.int32();
  reader.int16();
  if (version >= 1) reader.skipNullableString();
  reader.int32();
  return reader.offset;
}

/**
 * `frame` with each broker address at `offsets` (a host string, then an int32 port) replaced by the proxy's when
 * the proxy fronts that broker, and a new size prefix; `frame` itself when none is.
 */
function replaceAddresses(
  frame: Buffer,
  offsets: readonly number[],
  fronted: ReadonlyMap<string, number>,
): Buffer {
  const parts: Buffer[] = [];
  let copied = 4;
  for (const offset of offsets) {
    const reader = new FrameReader(frame, offset);
    const proxyPort = fronted.get(`${reader.string()}:${reader.int32()}`);
    if (proxyPort === undefined) continue;
    const address = Buffer.alloc(2 + PROXY_HOST.length + 4);
    address.writeInt16BE(PROXY_HOST.length);
    address.write(PROXY_HOST, 2, 'latin1');
    address.writeInt32BE(proxyPort, 2 + PROXY_HOST.length);
    parts.push(frame.subarray(copied, offset), address);
    copied = reader.offset;
  }
  if (parts.length === 0) return frame;
  parts.push(frame.subarray(copied));
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length);
  return Buffer.concat([size, body]);
}
