/**
 * The one contract every site engine meets. Planner, deployer and tests read `capabilities`
 * instead of testing engine names; drivers are loaded only when a site of that engine is opened.
 */
import path from 'node:path';
import type { Catalog, ColumnType } from '../catalog/types.js';
import type { Engine } from '../design/schema.js';
import { expandEnv, redactUrl } from '../util/secrets.js';
import type { Dialect } from './dialect.js';

export type BulkLoadKind =
  /** PostgreSQL `COPY … FROM STDIN` */
  | 'copy-stdin'
  /** PGlite `COPY … FROM '/dev/blob'`, one blob per batch */
  | 'copy-blob'
  /** MariaDB/MySQL `LOAD DATA LOCAL INFILE` streamed by the client */
  | 'load-data-local'
  /** SQLite: one prepared INSERT reused for every row, inside one transaction */
  | 'prepared-insert'
  /** DuckDB appender */
  | 'appender';

export interface Capabilities {
  /** PREPARE TRANSACTION / XA: `prepare`, `commitPrepared`, … work. */
  twoPhaseCommit: boolean;
  /** CREATE/DROP TABLE roll back with the transaction. */
  transactionalDdl: boolean;
  bulkLoad: BulkLoadKind;
  /** INSERT … RETURNING. */
  returning: boolean;
  /** A PostgreSQL decision site can reach it through a foreign-data wrapper (postgres_fdw, mysql_fdw). */
  linkableFromPostgres: boolean;
  /** A MariaDB decision site can reach it through FederatedX. */
  linkableFromMariaDb: boolean;
  windowFunctions: boolean;
  /** Several connectors can open the same site at once (false for a PGlite data dir, an in-memory database). */
  concurrentSessions: boolean;
  /**
   * Rows can be copied out and in as raw COPY text of this format (`copyOutText` / `copyInText`):
   * between two sites of the same format, data moves without being decoded.
   */
  copyText?: 'postgresql';
  /**
   * Rows can be appended from raw text in this format (`loadText`): a source that can write it
   * (`copyOutAs`) feeds the site without decoding values in ddbkit.
   */
  textLoad?: 'mysql';
}

/** A column as bulkLoad needs it: the name on the site and the source type of its values. */
export interface LoadColumn {
  name: string;
  type: ColumnType;
}

/** A prepared (in-doubt) two-phase transaction as the engine lists it. */
export interface PreparedTransaction {
  gid: string;
}

export interface SiteConnector {
  readonly engine: Engine;
  /** The site's name in the design, used in every error message. */
  readonly site: string;
  readonly capabilities: Capabilities;
  readonly dialect: Dialect;

  /** The engine's version string, e.g. `PostgreSQL 15.14`, `10.11.19-MariaDB`, `3.46.1`. */
  version(): Promise<string>;
  /** Runs one or several statements separated by `;` (DDL, scripts). No parameters, no rows. */
  execute(sql: string): Promise<void>;
  /** Runs one statement and returns its rows as objects, values canonical (see values.ts). */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  /** Runs one INSERT/UPDATE/DELETE and returns how many rows it matched (UPDATE: matched, not only changed). */
  modify(sql: string): Promise<number>;
  /**
   * Runs one SELECT and yields its rows in batches of at most `batchSize` arrays, never holding the
   * whole result. `types`, when given (one per column, the source's types), make the values canonical
   * even where the engine cannot tell (a MariaDB DATETIME that holds a timestamptz).
   * Until the iteration ends, don't run other statements on this connector (SQLite forbids it).
   */
  stream(sql: string, batchSize?: number, types?: readonly ColumnType[]): AsyncIterable<unknown[][]>;
  /**
   * Every row of a SELECT at once, values as `stream` gives them: for a caller that keeps the
   * whole result anyway (a planner's small partial results), one round trip, no cursor.
   */
  readAll(sql: string, types?: readonly ColumnType[]): Promise<unknown[][]>;
  /**
   * Appends rows (arrays in `columns` order, canonical values) to an existing table with the engine's
   * fast path, atomically: on any error nothing of this call stays. Returns the number of rows loaded.
   */
  bulkLoad(
    table: string,
    columns: readonly LoadColumn[],
    rows: AsyncIterable<unknown[][]> | Iterable<unknown[][]>,
  ): Promise<number>;
  /** With `capabilities.copyText`: the rows of a SELECT as raw COPY text chunks. */
  copyOutText?(sql: string): AsyncIterable<Buffer>;
  /** With `capabilities.copyText`: appends raw COPY text (one row per line), atomically; returns rows loaded. */
  copyInText?(table: string, columns: readonly string[], chunks: AsyncIterable<Buffer>): Promise<number>;
  /**
   * With a target's `capabilities.textLoad`: the rows of a SELECT (whose columns have `columns`'
   * types) as raw text in that format, or undefined when some column type cannot be written so.
   */
  copyOutAs?(format: 'mysql', sql: string, columns: readonly LoadColumn[]): AsyncIterable<Buffer> | undefined;
  /** With `capabilities.textLoad`: appends raw text rows (one per line), atomically; returns rows loaded. */
  loadText?(table: string, columns: readonly LoadColumn[], chunks: AsyncIterable<Buffer>): Promise<number>;
  /** Reads the site's tables (the default schema/database) into a Catalog. */
  introspect(): Promise<Catalog>;

  /**
   * Starts a transaction. Give a `gid` when it may be prepared for two-phase commit: MariaDB's XA
   * must be told at the start (`XA START`); PostgreSQL only needs it at `prepare`.
   */
  begin(options?: { gid?: string }): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  readonly inTransaction: boolean;

  /**
   * Two-phase commit; each throws UnsupportedError unless `capabilities.twoPhaseCommit`.
   * `prepare` ends the open transaction (begun with the same gid) in the prepared state: its changes
   * survive a crash and stay invisible until `commitPrepared`, from this or any later session.
   */
  prepare(gid: string): Promise<void>;
  commitPrepared(gid: string): Promise<void>;
  rollbackPrepared(gid: string): Promise<void>;
  listPrepared(): Promise<PreparedTransaction[]>;

  close(): Promise<void>;
}

/** Something failed on a site. The message names the site and never contains a password. */
export class SiteError extends Error {
  readonly code: string;
  constructor(
    readonly site: string,
    readonly engine: Engine,
    message: string,
    options: { code?: string; sql?: string; cause?: unknown } = {},
  ) {
    super(`site ${site} (${engine}): ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SiteError';
    this.code = options.code ?? 'SITE_ERROR';
    if (options.sql !== undefined) this.sql = options.sql;
  }
  sql?: string;
}

/** An operation the engine does not have (2PC on SQLite…): read `capabilities` first. */
export class UnsupportedError extends SiteError {
  constructor(site: string, engine: Engine, what: string) {
    super(site, engine, `${what} is not supported by ${engine}`, { code: 'UNSUPPORTED' });
    this.name = 'UnsupportedError';
  }
}

export interface SiteAddress {
  /** The site's name in the design (for messages). */
  name: string;
  engine: Engine;
  /** As written in the design: `${VAR}` placeholders are expanded here. */
  url: string;
}

/** What an engine module receives: the URL expanded, file paths resolved against the design's folder. */
export interface ResolvedSite {
  name: string;
  engine: Engine;
  /** Expanded URL (may contain a password: never print it; use `shownUrl`). */
  url: string;
  /** Absolute file path for `file:` URLs, undefined for `memory:` and server URLs. */
  file?: string;
  /** The URL for messages, password redacted. */
  shownUrl: string;
  /** Literal secrets of the URL, to scrub from driver messages. */
  secrets: string[];
}

type Opener = (site: ResolvedSite) => Promise<SiteConnector>;

/** Each engine's module is imported only when a site of that engine is opened. */
const OPENERS: Record<Engine, () => Promise<Opener>> = {
  postgres: async () => (await import('./postgres/connector.js')).openPostgresConnector,
  pglite: async () => (await import('./pglite/connector.js')).openPGliteConnector,
  mariadb: async () => (await import('./mariadb/connector.js')).openMariaDbConnector,
  mysql: async () => (await import('./mariadb/connector.js')).openMariaDbConnector,
  sqlite: async () => (await import('./sqlite/connector.js')).openSqliteConnector,
  duckdb: async () => (await import('./duckdb/connector.js')).openDuckDbConnector,
};

/** Opens a site. `file:` paths are relative to `baseDir` (the design file's folder); `memory:` is in-process. */
export async function openConnector(site: SiteAddress, baseDir: string): Promise<SiteConnector> {
  let url: string;
  try {
    url = expandEnv(site.url);
  } catch (e) {
    throw new SiteError(site.name, site.engine, `cannot expand url ${redactUrl(site.url)}: ${(e as Error).message}`, {
      code: 'CONFIG',
    });
  }
  const resolved: ResolvedSite = { name: site.name, engine: site.engine, url, shownUrl: redactUrl(url), secrets: secretsOf(url) };
  if (url.startsWith('file:')) resolved.file = path.resolve(baseDir, url.slice('file:'.length));
  const opener = await OPENERS[site.engine]();
  return opener(resolved);
}

/** Passwords in a URL (userinfo or password=), raw and percent-decoded, to scrub from messages. */
export function secretsOf(url: string): string[] {
  const out = new Set<string>();
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)@/.exec(url);
  const userinfo = m?.[1];
  if (userinfo !== undefined && userinfo.includes(':')) out.add(userinfo.slice(userinfo.indexOf(':') + 1));
  for (const p of url.matchAll(/\bpassword=([^&\s]*)/gi)) if (p[1]) out.add(p[1]);
  for (const s of [...out]) {
    try {
      out.add(decodeURIComponent(s));
    } catch {
      /* not percent-encoded */
    }
  }
  return [...out].filter((s) => s.length > 0);
}
