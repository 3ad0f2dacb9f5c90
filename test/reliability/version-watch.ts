import type pg from 'pg';

/**
 * Watches the version of every row of a target table across snapshots (taken after each injected fault) and counts
 * rows whose version moved back: under newer-wins no replay may regress a row.
 */
export class VersionWatch {
  readonly #highest = new Map<string, bigint>();
  readonly #regressedKeys = new Set<string>();

  /** `query` must return rows `{ key: string, version: string }`. */
  constructor(
    private readonly pool: pg.Pool,
    private readonly query: string,
  ) {}

  /** Reads the table now; returns the versions by key. */
  async snapshot(): Promise<Map<string, bigint>> {
    const { rows } = await this.pool.query<{ key: string; version: string }>(this.query);
    const versions = new Map<string, bigint>();
    for (const row of rows) {
      const version = BigInt(row.version);
      versions.set(row.key, version);
      const highest = this.#highest.get(row.key);
      if (highest !== undefined && version < highest) this.#regressedKeys.add(row.key);
      if (highest === undefined || version > highest) this.#highest.set(row.key, version);
    }
    return versions;
  }

  /** Keys seen at a lower version than an earlier snapshot showed. */
  get regressed(): ReadonlySet<string> {
    return this.#regressedKeys;
  }
}
