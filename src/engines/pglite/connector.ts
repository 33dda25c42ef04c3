/**
 * PGlite sites (PostgreSQL in WASM, in-process): `memory:` or a data directory (`file:DIR`).
 * Same SQL and values as PostgreSQL (shared PostgresFamilyConnector); bulk loads go through
 * `COPY … FROM '/dev/blob'`, one blob per batch so memory stays bounded. No 2PC, no FDW.
 */
import type { PGlite } from '@electric-sql/pglite';
import { siteFailure } from '../base-connector.js';
import type { Capabilities, LoadColumn, ResolvedSite, SiteConnector } from '../connector.js';
import { PG_SESSION_SETUP, PostgresFamilyConnector, type RawResult } from '../postgres/family.js';
import { pgCopyText, RAW_TEXT_OIDS } from '../postgres/values.js';
import { encodeTsvBatch, valueTypeOf } from '../values.js';

export const PGLITE_CAPABILITIES: Capabilities = {
  twoPhaseCommit: false,
  transactionalDdl: true,
  bulkLoad: 'copy-blob',
  returning: true,
  linkableFromPostgres: false,
  linkableFromMariaDb: false,
  windowFunctions: true,
  concurrentSessions: false,
};

/** Rows per COPY blob: ≈ a few MB of text, the unit of memory a load holds at once. */
const BLOB_ROWS = 50_000;

const identity = (v: string): string => v;
const RAW_PARSERS = Object.fromEntries(RAW_TEXT_OIDS.map((oid) => [oid, identity]));

export class PGliteConnector extends PostgresFamilyConnector {
  readonly capabilities = PGLITE_CAPABILITIES;

  constructor(
    address: ResolvedSite,
    readonly db: PGlite,
  ) {
    super(address);
  }

  protected async run(sql: string, params?: unknown[]): Promise<RawResult> {
    const r = await this.db.query<unknown[]>(sql, params, { rowMode: 'array', parsers: RAW_PARSERS });
    return {
      fields: r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
      rows: r.rows,
      ...(r.affectedRows === undefined ? {} : { rowCount: r.affectedRows }),
    };
  }

  protected async runScript(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  async bulkLoad(
    table: string,
    columns: readonly LoadColumn[],
    rows: AsyncIterable<unknown[][]> | Iterable<unknown[][]>,
  ): Promise<number> {
    const q = (n: string): string => this.dialect.quoteIdentifier(n);
    const sql = `COPY ${q(table)} (${columns.map((c) => q(c.name)).join(', ')}) FROM '/dev/blob'`;
    const types = columns.map((c) => valueTypeOf(c.type));
    return this.atomically(() =>
      this.guard(
        `bulk load into ${table} failed`,
        async () => {
          let loaded = 0;
          let pending: unknown[][] = [];
          const flush = async (): Promise<void> => {
            if (pending.length === 0) return;
            const blob = new Blob([encodeTsvBatch(pending, types, pgCopyText) as unknown as BlobPart]);
            const r = await this.db.query(sql, [], { blob });
            loaded += r.affectedRows ?? pending.length;
            pending = [];
          };
          for await (const batch of rows) {
            for (const row of batch) pending.push(row);
            if (pending.length >= BLOB_ROWS) await flush();
          }
          await flush();
          return loaded;
        },
        sql,
      ),
    );
  }

  protected async closeDriver(): Promise<void> {
    await this.db.close();
  }
}

export async function openPGliteConnector(site: ResolvedSite): Promise<SiteConnector> {
  const { PGlite } = await import('@electric-sql/pglite');
  let db: PGlite;
  try {
    db = site.file === undefined ? await PGlite.create() : await PGlite.create(site.file);
  } catch (e) {
    throw siteFailure(site, e, `cannot open ${site.shownUrl}`);
  }
  const connector = new PGliteConnector(site, db);
  try {
    await db.exec(PG_SESSION_SETUP);
  } catch (e) {
    await db.close().catch(() => {});
    throw connector.fail(e, `cannot open ${site.shownUrl}`);
  }
  return connector;
}
