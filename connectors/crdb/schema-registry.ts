import type avro from 'avsc';
import { SluiceError, messageOf } from '../../runtime/errors.js';
import { parseAvroSchema } from './avro-types.js';

/** How long one schema request may take, when the caller says nothing. */
const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * A Confluent Schema Registry (the `confluent_schema_registry` a CockroachDB changefeed writes its Avro schemas
 * to), read by schema id: each schema is fetched once (`GET /schemas/ids/<id>`) and kept. Credentials in the URL
 * (`https://user:secret@registry:8081`) are sent as HTTP basic auth, never shown in messages.
 */
export class SchemaRegistry {
  /** The URL without credentials, for requests and messages. */
  readonly url: string;
  readonly #authorization: string | undefined;
  readonly #timeoutMs: number;
  readonly #types = new Map<number, avro.Type>();
  /** Ids the registry does not have, or whose schema is not usable, with the reason. */
  readonly #unusable = new Map<number, string>();

  constructor(url: string, options: { timeoutMs?: number } = {}) {
    const parsed = new URL(url);
    this.#authorization =
      parsed.username === ''
        ? undefined
        : `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
    this.url = parsed.toString().replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Fetches the schemas of `ids` not fetched yet. An id the registry answers 404 for, or whose schema does not
   * parse, is remembered as unusable (its messages fail to decode, see {@link SchemaRegistry.typeOf}). Rejects with
   * retriable `SCHEMA_REGISTRY_UNAVAILABLE` when the registry cannot be reached or fails (any other answer).
   */
  async load(ids: Iterable<number>): Promise<void> {
    for (const id of new Set(ids)) {
      if (this.#types.has(id) || this.#unusable.has(id)) continue;
      await this.#fetch(id);
    }
  }

  /** The schema with this id, once {@link SchemaRegistry.load} has fetched it; else why there is none. */
  typeOf(id: number): avro.Type | string {
    return (
      this.#types.get(id) ??
      this.#unusable.get(id) ??
      `schema ${id} was not fetched from the schema registry at ${this.url}`
    );
  }

  /**
   * Checks that the registry answers an authenticated request (`GET /subjects`), for `sluice validate --connect`.
   * Resolves with what is wrong, or undefined when it answers.
   */
  async problem(): Promise<string | undefined> {
    try {
      const { response, body } = await this.#get('/subjects', 'the list of subjects');
      if (!response.ok)
        return `the schema registry at ${this.url} answered ${response.status}: ${body.slice(0, 200)}`;
      return undefined;
    } catch (error) {
      return messageOf(error);
    }
  }

  async #get(path: string, what: string): Promise<{ response: Response; body: string }> {
    try {
      const response = await fetch(`${this.url}${path}`, {
        headers: {
          accept: 'application/vnd.schemaregistry.v1+json, application/json',
          ...(this.#authorization === undefined ? {} : { authorization: this.#authorization }),
        },
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      return { response, body: await response.text() };
    } catch (cause) {
      throw new SluiceError(
        'SCHEMA_REGISTRY_UNAVAILABLE',
        `the schema registry at ${this.url} did not answer for ${what}: ${messageOf(cause)}`,
        { retriable: true, cause },
      );
    }
  }

  async #fetch(id: number): Promise<void> {
    const { response, body } = await this.#get(`/schemas/ids/${id}`, `schema ${id}`);
    if (response.status === 404) {
      this.#unusable.set(
        id,
        `the schema registry at ${this.url} has no schema ${id} (404 ${body.slice(0, 200)})`,
      );
      return;
    }
    if (!response.ok) {
      throw new SluiceError(
        'SCHEMA_REGISTRY_UNAVAILABLE',
        `the schema registry at ${this.url} answered ${response.status} for schema ${id}: ${body.slice(0, 200)}`,
        { retriable: true },
      );
    }
    try {
      const { schema, schemaType } = JSON.parse(body) as { schema?: unknown; schemaType?: unknown };
      if (schemaType !== undefined && schemaType !== 'AVRO')
        throw new Error(`it is a ${JSON.stringify(schemaType)} schema, not Avro`);
      if (typeof schema !== 'string') throw new Error('the answer has no "schema" text');
      this.#types.set(id, parseAvroSchema(schema));
    } catch (cause) {
      this.#unusable.set(
        id,
        `schema ${id} from the schema registry at ${this.url} is not a usable Avro schema: ${messageOf(cause)}`,
      );
    }
  }
}
