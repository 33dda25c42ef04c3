/**
 * PostgreSQL sites through `pg` (one Client per connector): COPY FROM STDIN for bulk loads
 * (pg-copy-streams), PREPARE TRANSACTION for two-phase commit.
 */
import { once } from 'node:events';
import type { Client, CustomTypesConfig, QueryArrayResult, Submittable } from 'pg';
import { checkGid } from '../base-connector.js';
import type { Capabilities, LoadColumn, PreparedTransaction, ResolvedSite, SiteConnector } from '../connector.js';
import { encodeTsvBatch, valueTypeOf } from '../values.js';
import { PG_SESSION_SETUP, PostgresFamilyConnector, type RawResult } from './family.js';
import { RawTextQuery } from './raw-query.js';
import { pgCopyText } from './values.js';

/** Every value arrives as the server's text; ./values.ts reads it (no pg-types parsing, no Date objects). */
const RAW_TEXT: CustomTypesConfig = {
  getTypeParser: (() => (value: string | Buffer) =>
    typeof value === 'string' ? value : value.toString('utf8')) as unknown as CustomTypesConfig['getTypeParser'],
};

export const POSTGRES_CAPABILITIES: Capabilities = {
  twoPhaseCommit: true,
  transactionalDdl: true,
  bulkLoad: 'copy-stdin',
  returning: true,
  linkableFromPostgres: true,
  linkableFromMariaDb: false,
  windowFunctions: true,
  concurrentSessions: true,
  copyText: 'postgresql',
};

/** Rows per COPY chunk written to the socket: big enough to amortise, small enough to stay flat. */
const COPY_CHUNK_ROWS = 5000;

export class PostgresConnector extends PostgresFamilyConnector {
  readonly capabilities = POSTGRES_CAPABILITIES;
  protected override readAhead = true;
  protected override readonly defersBegin = true;

  constructor(
    address: ResolvedSite,
    private readonly client: Client,
  ) {
    super(address);
  }

  protected async run(sql: string, params?: unknown[]): Promise<RawResult> {
    if (params?.length) {
      // The extended protocol carries one statement: a pending BEGIN goes on its own first.
      await this.sendPendingBegin();
      const r: QueryArrayResult = await this.client.query<unknown[]>({ text: sql, values: params, rowMode: 'array' });
      return {
        fields: r.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID })),
        rows: r.rows,
        ...(r.rowCount === null ? {} : { rowCount: r.rowCount }),
      };
    }
    // A simple query may hold two statements, so a pending BEGIN travels with this one; its rows
    // are kept as the protocol delivers them (see RawTextQuery).
    const begin = this.takePendingBegin();
    const raw = new RawTextQuery(begin === undefined ? sql : `${begin}; ${sql}`);
    return this.withBegun(begin, () => {
      void this.client.query(raw as unknown as Submittable);
      return raw.done;
    });
  }

  protected async runScript(sql: string): Promise<void> {
    const begin = this.takePendingBegin();
    await this.withBegun(begin, () => this.client.query(begin === undefined ? sql : `${begin}; ${sql}`));
  }

  /**
   * Runs a message that starts with `begin`, making sure the transaction is open even when the
   * message fails: PostgreSQL parses a whole simple query before running any of it, so a syntax
   * error in the statement also drops the BEGIN, and the statements after it would each commit
   * on their own. BEGIN is sent again then (refused harmlessly when the first one did run).
   */
  private async withBegun<T>(begin: string | undefined, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (e) {
      if (begin !== undefined) await this.client.query(begin).catch(() => {});
      throw e;
    }
  }

  /** Sends a BEGIN still waiting for a statement (COPY cannot carry it). */
  private async sendPendingBegin(): Promise<void> {
    const begin = this.takePendingBegin();
    if (begin !== undefined) await this.client.query(begin);
  }

  async bulkLoad(
    table: string,
    columns: readonly LoadColumn[],
    rows: AsyncIterable<unknown[][]> | Iterable<unknown[][]>,
  ): Promise<number> {
    const types = columns.map((c) => valueTypeOf(c.type));
    async function* encoded(): AsyncIterable<Buffer> {
      for await (const batch of rows) {
        for (let i = 0; i < batch.length; i += COPY_CHUNK_ROWS) {
          yield encodeTsvBatch(batch.length <= COPY_CHUNK_ROWS ? batch : batch.slice(i, i + COPY_CHUNK_ROWS), types, pgCopyText);
        }
      }
    }
    return this.copyInText(
      table,
      columns.map((c) => c.name),
      encoded(),
    );
  }

  async *copyOutText(sql: string): AsyncIterable<Buffer> {
    const { to } = await import('pg-copy-streams');
    await this.guard('copy out failed', () => this.sendPendingBegin(), sql);
    const copy = this.client.query(to(`COPY (${sql}) TO STDOUT`));
    try {
      for await (const chunk of copy as AsyncIterable<Buffer>) yield chunk;
    } catch (e) {
      throw this.fail(e, 'copy out failed', sql);
    }
  }

  /**
   * The rows of a SELECT as MySQL/MariaDB LOAD DATA text, written by PostgreSQL's own COPY: values
   * converted in SQL where the spellings differ (booleans as 1/0, timestamptz in UTC without its
   * offset, bytea as hex), and the two escapes MariaDB does not read (\f, \v) turned into bytes.
   */
  copyOutAs(format: 'mysql', sql: string, columns: readonly LoadColumn[]): AsyncIterable<Buffer> | undefined {
    const q = (n: string): string => this.dialect.quoteIdentifier(n);
    const items: string[] = [];
    for (const c of columns) {
      const ref = `t.${q(c.name)}`;
      switch (c.type.family) {
        case 'boolean':
          items.push(`(${ref})::int`);
          break;
        case 'timestamptz':
          items.push(`(${ref} AT TIME ZONE 'UTC')`);
          break;
        case 'binary':
          items.push(`encode(${ref}, 'hex')`);
          break;
        case 'other':
          return undefined;
        default:
          items.push(ref);
      }
    }
    if (format !== 'mysql') return undefined;
    return mysqlEscapes(this.copyOutText(`SELECT ${items.join(', ')} FROM (${sql}) AS t`));
  }

  /** COPY FROM STDIN of text chunks, atomically, respecting back-pressure so memory stays flat. */
  async copyInText(table: string, columns: readonly string[], chunks: AsyncIterable<Buffer>): Promise<number> {
    const q = (n: string): string => this.dialect.quoteIdentifier(n);
    const sql = `COPY ${q(table)} (${columns.map(q).join(', ')}) FROM STDIN`;
    const { from } = await import('pg-copy-streams');
    return this.atomically(() =>
      this.guard(
        `bulk load into ${table} failed`,
        async () => {
          await this.sendPendingBegin();
          const copy = this.client.query(from(sql));
          const done = new Promise<void>((resolve, reject) => {
            copy.on('finish', resolve);
            copy.on('error', reject);
          });
          try {
            for await (const chunk of chunks) {
              if (!copy.write(chunk)) await Promise.race([once(copy, 'drain'), done]);
            }
          } catch (e) {
            copy.destroy(e as Error);
            await done.catch(() => {});
            throw e;
          }
          copy.end();
          await done;
          return copy.rowCount ?? 0;
        },
        sql,
      ),
    );
  }

  override async prepare(gid: string): Promise<void> {
    if (!this.txOpen) throw this.fail(new Error('no open transaction to prepare'), `prepare ${gid}`);
    await this.execute(`PREPARE TRANSACTION '${checkGid(gid)}'`);
    this.txOpen = false;
  }

  override async commitPrepared(gid: string): Promise<void> {
    await this.execute(`COMMIT PREPARED '${checkGid(gid)}'`);
  }

  override async rollbackPrepared(gid: string): Promise<void> {
    await this.execute(`ROLLBACK PREPARED '${checkGid(gid)}'`);
  }

  override async listPrepared(): Promise<PreparedTransaction[]> {
    const rows = await this.query<{ gid: string }>(
      'SELECT gid FROM pg_prepared_xacts WHERE database = current_database() ORDER BY prepared',
    );
    return rows.map((r) => ({ gid: r.gid }));
  }

  protected async closeDriver(): Promise<void> {
    await this.client.end();
  }
}

export async function openPostgresConnector(site: ResolvedSite): Promise<SiteConnector> {
  const pg = await import('pg');
  const ClientCtor = (pg.default ?? pg).Client;
  const client = new ClientCtor({ connectionString: site.url, types: RAW_TEXT, connectionTimeoutMillis: 15_000 });
  // An idle client can emit 'error' (server restart); without a listener Node would crash.
  client.on('error', () => {});
  const connector = new PostgresConnector(site, client);
  try {
    await client.connect();
    await client.query(PG_SESSION_SETUP);
  } catch (e) {
    await client.end().catch(() => {});
    throw connector.fail(e, `cannot connect to ${site.shownUrl}`);
  }
  return connector;
}

/**
 * PostgreSQL's COPY text escapes form feed and vertical tab as \f and \v, which LOAD DATA does not
 * know: they become the raw bytes. Chunks without either pass through untouched.
 */
async function* mysqlEscapes(chunks: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let carry: Buffer | undefined;
  for await (const raw of chunks) {
    let chunk = carry ? Buffer.concat([carry, raw]) : raw;
    carry = undefined;
    // An odd run of backslashes at the end starts an escape that the next chunk finishes.
    let trailing = 0;
    while (trailing < chunk.length && chunk[chunk.length - 1 - trailing] === 0x5c) trailing++;
    if (trailing % 2 === 1) {
      carry = chunk.subarray(chunk.length - 1);
      chunk = chunk.subarray(0, chunk.length - 1);
    }
    if (chunk.indexOf('\\f') < 0 && chunk.indexOf('\\v') < 0) {
      yield chunk;
      continue;
    }
    const out = Buffer.allocUnsafe(chunk.length);
    let o = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b !== 0x5c) {
        out[o++] = b;
        continue;
      }
      const next = chunk[++i]!;
      if (next === 0x66) out[o++] = 0x0c;
      else if (next === 0x76) out[o++] = 0x0b;
      else {
        out[o++] = b;
        out[o++] = next;
      }
    }
    yield out.subarray(0, o);
  }
  if (carry) yield carry;
}
