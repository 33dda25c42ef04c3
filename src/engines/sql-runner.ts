/** The least an engine must offer to be introspected and checked on its data. */
export interface SqlRunner {
  /** Runs one statement and returns its rows as objects keyed by column name. */
  query<Row extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<Row[]>;
  close(): Promise<void>;
}
