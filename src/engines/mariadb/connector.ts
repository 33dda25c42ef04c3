/**
 * MariaDB (and MySQL) sites through `mysql2`, one connection per connector. Bulk loads stream
 * `LOAD DATA LOCAL INFILE` from memory (never a temp file); two-phase commit is XA.
 */
import { Readable, type Writable } from 'node:stream';
import type { Catalog, ColumnType } from '../../catalog/types.js';
import type { Connection, FieldPacket, ResultSetHeader } from 'mysql2/promise';
import { BaseConnector, checkGid, siteFailure } from '../base-connector.js';
import type { Capabilities, LoadColumn, PreparedTransaction, ResolvedSite, SiteConnector } from '../connector.js';
import { SiteError } from '../connector.js';
import { canonicalText, canonicalValue, countLines, encodeTsvBatch, looseValue, valueTypeOf, type ValueType } from '../values.js';
import { MariaDbDialect, MySqlDialect } from './dialect.js';
import { introspectMariaDb } from './introspect.js';

export const MARIADB_CAPABILITIES: Capabilities = {
  twoPhaseCommit: true,
  transactionalDdl: false,
  bulkLoad: 'load-data-local',
  returning: true, // MariaDB ≥ 10.5 (INSERT … RETURNING); MySQL has none: see MYSQL_CAPABILITIES
  linkableFromPostgres: true, // mysql_fdw
  linkableFromMariaDb: true, // FederatedX
  windowFunctions: true,
  concurrentSessions: true,
  textLoad: 'mysql',
};

export const MYSQL_CAPABILITIES: Capabilities = { ...MARIADB_CAPABILITIES, returning: false, linkableFromMariaDb: true };

/** mysql2 column type codes (protocol constants) that decide how a value is read. */
const T = {
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  DECIMAL: 0,
  NEWDECIMAL: 246,
  JSON: 245,
} as const;
const BINARY_CHARSET = 63;
/** Rows per packet of the LOAD DATA stream: one packet must stay below 16 MB. */
const LOAD_CHUNK_ROWS = 5000;
/** Bytes of LOAD DATA stream the socket may hold unsent before reading more rows from the source. */
const LOAD_BUFFER_BYTES = 4 * 1024 * 1024;

/** Resolves when `socket` has flushed its write buffer (or is closed: the query then fails on its own). */
function drained(socket: Writable): Promise<void> {
  if (socket.writableLength === 0 || socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      socket.off('drain', done);
      socket.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
  });
}

/** What a result column holds, from the protocol's metadata (MariaDB knows booleans only as tinyint(1)). */
function fieldType(f: FieldPacket): ValueType | undefined {
  if (f.extendedTypeName === 'uuid') return { family: 'uuid' };
  switch (f.columnType) {
    case T.TINY:
      return f.columnLength === 1 ? { family: 'boolean' } : { family: 'integer' };
    case T.SHORT:
    case T.LONG:
    case T.INT24:
    case T.LONGLONG:
    case T.YEAR:
      return { family: 'integer' };
    case T.DECIMAL:
    case T.NEWDECIMAL:
      return { family: 'decimal', scale: f.decimals };
    case T.FLOAT:
    case T.DOUBLE:
      return { family: 'float' };
    case T.DATE:
    case T.NEWDATE:
      return { family: 'date' };
    case T.DATETIME:
      return { family: 'timestamp' };
    case T.TIMESTAMP:
      return { family: 'timestamptz' };
    case T.TIME:
      return { family: 'time' };
    default:
      return f.characterSet === BINARY_CHARSET && f.columnType !== T.JSON ? { family: 'binary' } : undefined;
  }
}

function readValue(v: unknown, t: ValueType | undefined): unknown {
  return t === undefined ? looseValue(v) : canonicalValue(v, t);
}

/** LOAD DATA spelling: MariaDB's DATETIME has no 'T' or zone; booleans are 1/0; binary goes as hex. */
function mariaDbText(v: unknown, type: ValueType): string {
  switch (type.family) {
    case 'boolean':
      return canonicalValue(v, type) ? '1' : '0';
    case 'timestamp':
    case 'timestamptz':
      // Fast path: the canonical spelling a source stream yields ('YYYY-MM-DDTHH:MM:SS[Z]').
      if (typeof v === 'string' && v.charCodeAt(10) === 84 /* T */) {
        if (v.length === 19 && type.family === 'timestamp') return `${v.slice(0, 10)} ${v.slice(11)}`;
        if (v.length === 20 && type.family === 'timestamptz' && v.charCodeAt(19) === 90 /* Z */)
          return `${v.slice(0, 10)} ${v.slice(11, 19)}`;
      }
      return String(canonicalValue(v, type)).replace('T', ' ').replace(/Z$/, '');
    case 'binary':
      return (canonicalValue(v, type) as Buffer).toString('hex');
    default:
      return canonicalText(v, type);
  }
}

export class MariaDbConnector extends BaseConnector {
  readonly dialect: MariaDbDialect;
  readonly capabilities: Capabilities;
  /** The gid of the open XA transaction, if begun with one. */
  private xaGid: string | undefined;
  protected override readonly defersBegin = true;

  constructor(
    address: ResolvedSite,
    private readonly conn: Connection,
  ) {
    super(address);
    this.capabilities = address.engine === 'mysql' ? MYSQL_CAPABILITIES : MARIADB_CAPABILITIES;
    this.dialect = address.engine === 'mysql' ? new MySqlDialect() : new MariaDbDialect();
  }

  async version(): Promise<string> {
    const rows = await this.query<{ v: string }>('SELECT VERSION() AS v');
    return String(rows[0]?.v ?? '');
  }

  async execute(sql: string): Promise<void> {
    await this.guard('statement failed', () => this.send(sql), sql);
  }

  async modify(sql: string): Promise<number> {
    const [result] = await this.guard('statement failed', () => this.send(sql), sql);
    return (result as ResultSetHeader).affectedRows ?? 0;
  }

  /**
   * One message to the server, carrying a BEGIN still pending before the statement (the
   * connection allows multiple statements; MariaDB runs them in turn, so the transaction is open
   * even if the statement fails). The statement's own result is returned.
   */
  private async send(sql: string, params?: unknown[], rowsAsArray = false): Promise<[unknown, unknown]> {
    const begin = this.takePendingBegin();
    if (begin === undefined) return this.conn.query({ sql, rowsAsArray }, params);
    const [results, fields] = await this.conn.query({ sql: `${begin}; ${sql}`, rowsAsArray }, params);
    const rest = (results as unknown[]).slice(1);
    const restFields = (fields as unknown[]).slice(1);
    return rest.length === 1 ? [rest[0], restFields[0]] : [rest, restFields];
  }

  /** Sends a BEGIN still waiting for a statement, for the paths that cannot carry it (row streams, LOAD DATA). */
  private async sendPendingBegin(): Promise<void> {
    const begin = this.takePendingBegin();
    if (begin !== undefined) await this.guard('statement failed', () => this.conn.query(begin), begin);
  }

  async query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]> {
    const [rows, fields] = await this.guard('query failed', () => this.send(sql, params, true), sql);
    if (!Array.isArray(rows) || !fields) return [];
    const types = (fields as FieldPacket[]).map(fieldType);
    const names = (fields as FieldPacket[]).map((f) => f.name);
    return (rows as unknown[][]).map((raw) => {
      const row: Record<string, unknown> = {};
      names.forEach((n, i) => {
        row[n] = readValue(raw[i], types[i]);
      });
      return row as Row;
    });
  }

  /**
   * The whole result from one buffered query: mysql2's row stream costs a pause/resume and a
   * copied array per row, and the caller wants every row in memory anyway. Values are read in
   * place (the driver's row arrays are ours).
   */
  override async readAll(sql: string, hints?: readonly ColumnType[]): Promise<unknown[][]> {
    const [rows, fields] = await this.guard('query failed', () => this.send(sql, undefined, true), sql);
    if (!Array.isArray(rows) || !fields) return [];
    const hinted = hints?.map(valueTypeOf);
    const types = (fields as FieldPacket[]).map((f, i) => hinted?.[i] ?? fieldType(f));
    const width = types.length;
    for (const row of rows as unknown[][]) {
      for (let i = 0; i < width; i++) row[i] = readValue(row[i], types[i]);
    }
    return rows as unknown[][];
  }

  /** mysql2's row stream, paused whenever the consumer is behind, re-cut into batches. */
  async *stream(sql: string, batchSize = 1000, hints?: readonly ColumnType[]): AsyncIterable<unknown[][]> {
    const core = (
      this.conn as unknown as {
        connection: { query(o: object): { stream(o?: object): Readable; on(ev: string, f: (x: unknown) => void): unknown } };
      }
    ).connection;
    await this.sendPendingBegin();
    const q = core.query({ sql, rowsAsArray: true });
    let types: (ValueType | undefined)[] = [];
    q.on('fields', (f) => {
      types = (f as FieldPacket[]).map(fieldType);
    });
    const hinted = hints?.map(valueTypeOf);
    const rows = q.stream({ highWaterMark: batchSize });
    let batch: unknown[][] = [];
    try {
      for await (const raw of rows as AsyncIterable<unknown[]>) {
        batch.push(raw.map((v, i) => readValue(v, hinted?.[i] ?? types[i])));
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
    } catch (e) {
      throw this.fail(e, 'query failed', sql);
    } finally {
      rows.destroy();
    }
    if (batch.length > 0) yield batch;
  }

  async bulkLoad(
    table: string,
    columns: readonly LoadColumn[],
    rows: AsyncIterable<unknown[][]> | Iterable<unknown[][]>,
  ): Promise<number> {
    const types = columns.map((c) => valueTypeOf(c.type));
    const counter = { rows: 0 };
    async function* encoded(): AsyncGenerator<Buffer> {
      for await (const batch of rows) {
        for (let i = 0; i < batch.length; i += LOAD_CHUNK_ROWS) {
          const part = batch.length <= LOAD_CHUNK_ROWS ? batch : batch.slice(i, i + LOAD_CHUNK_ROWS);
          counter.rows += part.length;
          yield encodeTsvBatch(part, types, mariaDbText);
        }
      }
    }
    return this.loadChunks(table, columns, encoded(), counter);
  }

  /** Raw LOAD DATA text (tab-separated, `\N` for NULL, binary columns as hex), one row per line. */
  async loadText(table: string, columns: readonly LoadColumn[], chunks: AsyncIterable<Buffer>): Promise<number> {
    const counter = { rows: 0 };
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of chunks) {
        counter.rows += countLines(chunk);
        yield chunk;
      }
    }
    return this.loadChunks(table, columns, counted(), counter);
  }

  private async loadChunks(
    table: string,
    columns: readonly LoadColumn[],
    chunks: AsyncIterable<Buffer>,
    sent: { rows: number },
  ): Promise<number> {
    const q = (n: string): string => this.dialect.quoteIdentifier(n);
    const types = columns.map((c) => valueTypeOf(c.type));
    // Binary columns travel as hex into a user variable and are decoded by the server.
    const targets = columns.map((c, i) => (types[i]?.family === 'binary' ? `@v${i}` : q(c.name)));
    const sets = columns.flatMap((c, i) => (types[i]?.family === 'binary' ? [`${q(c.name)} = UNHEX(@v${i})`] : []));
    const sql =
      `LOAD DATA LOCAL INFILE 'ddbkit-stream' INTO TABLE ${q(table)} CHARACTER SET utf8mb4 ` +
      `FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${targets.join(', ')})` +
      (sets.length > 0 ? ` SET ${sets.join(', ')}` : '');
    let sourceError: unknown;
    // mysql2 writes every chunk of the stream to the socket as soon as it is read and never waits
    // for the socket to drain, so a source faster than the server would pile up in memory: wait here.
    const socket = (this.conn as unknown as { connection?: { stream?: Writable } }).connection?.stream;
    async function* paced(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of chunks) {
          if (socket && socket.writableLength > LOAD_BUFFER_BYTES) await drained(socket);
          yield chunk;
        }
      } catch (e) {
        sourceError = e;
        throw e;
      }
    }
    return this.atomically(async () => {
      await this.sendPendingBegin();
      const [result] = await this.guard(
        `bulk load into ${table} failed`,
        () => this.conn.query({ sql, infileStreamFactory: () => Readable.from(paced(), { objectMode: false }) }),
        sql,
      );
      if (sourceError !== undefined) throw sourceError;
      const header = result as ResultSetHeader;
      // With LOCAL, MariaDB turns bad values and duplicate keys into warnings and skips rows: refuse that.
      if (header.warningStatus > 0 || header.affectedRows !== sent.rows) {
        const warnings = await this.query<{ Level: string; Code: number; Message: string }>('SHOW WARNINGS LIMIT 5');
        const detail = warnings.map((w) => w.Message).join('; ');
        throw new SiteError(
          this.site,
          this.engine,
          `bulk load into ${table} failed: ${header.affectedRows} of ${sent.rows} rows accepted, ${header.warningStatus} warnings${detail ? `: ${detail}` : ''}`,
          { code: 'LOAD_WARNINGS', sql },
        );
      }
      return header.affectedRows;
    });
  }

  async introspect(): Promise<Catalog> {
    return this.guard('introspection failed', () => introspectMariaDb(this));
  }

  override async begin(options?: { gid?: string }): Promise<void> {
    if (options?.gid === undefined) return super.begin();
    await this.beginWith(`XA START '${checkGid(options.gid)}'`);
    this.xaGid = options.gid;
  }

  override async commit(): Promise<void> {
    if (this.xaGid === undefined) return super.commit();
    const gid = this.xaGid;
    if (this.takePendingBegin() === undefined) await this.execute(`XA END '${gid}'; XA COMMIT '${gid}' ONE PHASE`);
    this.xaGid = undefined;
    this.txOpen = false;
  }

  override async rollback(): Promise<void> {
    if (this.xaGid === undefined) return super.rollback();
    const gid = this.xaGid;
    this.xaGid = undefined;
    this.txOpen = false;
    if (this.takePendingBegin() !== undefined) return;
    // XA END fails when the branch already ended (an error can end it): then only XA ROLLBACK is left.
    await this.execute(`XA END '${gid}'; XA ROLLBACK '${gid}'`).catch(() => this.execute(`XA ROLLBACK '${gid}'`));
  }

  override async prepare(gid: string): Promise<void> {
    if (this.xaGid !== gid) {
      throw new SiteError(
        this.site,
        this.engine,
        `cannot prepare ${gid}: MariaDB XA needs the transaction begun with begin({ gid: '${gid}' })`,
        { code: 'TX_STATE' },
      );
    }
    await this.execute(`XA END '${gid}'; XA PREPARE '${gid}'`);
    this.xaGid = undefined;
    this.txOpen = false;
  }

  override async commitPrepared(gid: string): Promise<void> {
    await this.execute(`XA COMMIT '${checkGid(gid)}'`);
  }

  override async rollbackPrepared(gid: string): Promise<void> {
    await this.execute(`XA ROLLBACK '${checkGid(gid)}'`);
  }

  override async listPrepared(): Promise<PreparedTransaction[]> {
    const rows = await this.query<{ gtrid_length: number; data: unknown }>('XA RECOVER');
    return rows.map((r) => {
      const data = Buffer.isBuffer(r.data) ? r.data.toString('utf8') : String(r.data);
      return { gid: data.slice(0, Number(r.gtrid_length)) };
    });
  }

  protected async closeDriver(): Promise<void> {
    await this.conn.end();
  }
}

/** mysql2 reads `mysql://`; a design may say `mariadb://`. */
function driverUrl(url: string): string {
  return url.replace(/^mariadb:\/\//i, 'mysql://');
}

export async function openMariaDbConnector(site: ResolvedSite): Promise<SiteConnector> {
  const mysql = await import('mysql2/promise');
  let conn: Connection;
  try {
    conn = await (mysql.default ?? mysql).createConnection({
      uri: driverUrl(site.url),
      multipleStatements: true,
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      jsonStrings: true,
      decimalNumbers: false,
      timezone: 'Z',
      charset: 'UTF8MB4_BIN',
      connectTimeout: 15_000,
      // UPDATE reports the rows it matched, as PostgreSQL does, not only those it changed.
      flags: ['+FOUND_ROWS'],
    });
  } catch (e) {
    throw siteFailure(site, e, `cannot connect to ${site.shownUrl}`);
  }
  // An idle connection can emit 'error' (server gone); without a listener Node would crash.
  conn.on('error', () => {});
  const connector = new MariaDbConnector(site, conn);
  try {
    await conn.query(
      // group_concat_max_len: the query planner's count(DISTINCT) lists (src/query/pushdown.ts) may be long.
      "SET time_zone = '+00:00', sql_mode = 'STRICT_TRANS_TABLES,STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,NO_ZERO_DATE,NO_ZERO_IN_DATE', group_concat_max_len = 16777216",
    );
  } catch (e) {
    await conn.end().catch(() => {});
    throw connector.fail(e, `cannot connect to ${site.shownUrl}`);
  }
  return connector;
}
