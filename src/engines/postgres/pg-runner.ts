import type { Client, ClientConfig } from 'pg';
import type { SqlRunner } from '../sql-runner.js';

/** A SqlRunner over one `pg` Client connection to a PostgreSQL server. */
export class PgRunner implements SqlRunner {
  private closed = false;

  constructor(readonly client: Client) {}

  /** Connects to `connectionString` (or a full client config). Throws pg's error on failure. */
  static async connect(config: string | ClientConfig): Promise<PgRunner> {
    const pg = await import('pg');
    const ClientCtor = (pg.default ?? pg).Client;
    const client = new ClientCtor(typeof config === 'string' ? { connectionString: config } : config);
    // An idle client can emit 'error' (server restart); without a listener Node would crash.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => {});
      throw e;
    }
    return new PgRunner(client);
  }

  async query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]> {
    const result = await this.client.query<Row>(sql, params as unknown[] | undefined);
    return result.rows.map((r) => ({ ...r }));
  }

  /** Runs a script of several statements (simple query protocol, no parameters). */
  async exec(sql: string): Promise<void> {
    await this.client.query(sql);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.end();
  }
}

export function openPostgres(config: string | ClientConfig): Promise<PgRunner> {
  return PgRunner.connect(config);
}
