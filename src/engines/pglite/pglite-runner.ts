import type { PGlite } from '@electric-sql/pglite';
import type { SqlRunner } from '../sql-runner.js';

/** A SqlRunner over an (in-memory or file-backed) PGlite instance. */
export class PGliteRunner implements SqlRunner {
  private closed = false;

  constructor(readonly db: PGlite) {}

  /** Creates a PGlite instance (in memory when `dataDir` is omitted) and wraps it. */
  static async create(dataDir?: string): Promise<PGliteRunner> {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = dataDir === undefined ? await PGlite.create() : await PGlite.create(dataDir);
    return new PGliteRunner(db);
  }

  async query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]> {
    const result = await this.db.query<Row>(sql, params);
    return result.rows.map((r) => ({ ...r }));
  }

  /** Runs a script of several statements (no parameters). */
  async exec(sql: string): Promise<void> {
    await this.db.exec(sql);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }
}

/** Creates an in-memory (or `dataDir`-backed) PGlite runner. */
export function openPGlite(dataDir?: string): Promise<PGliteRunner> {
  return PGliteRunner.create(dataDir);
}
