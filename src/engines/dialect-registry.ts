/**
 * The dialect of each engine, without loading any driver: scripts can be generated for sites that
 * are not reachable from here.
 */
import type { Engine } from '../design/schema.js';
import type { Dialect } from './dialect.js';
import { duckDbDialect } from './duckdb/dialect.js';
import { MySqlDialect, mariaDbDialect } from './mariadb/dialect.js';
import { pgliteDialect } from './pglite/dialect.js';
import { postgresDialect } from './postgres/dialect.js';
import { sqliteDialect } from './sqlite/dialect.js';

const mysqlDialect = new MySqlDialect();

const DIALECTS: Record<Engine, Dialect> = {
  postgres: postgresDialect,
  pglite: pgliteDialect,
  mariadb: mariaDbDialect,
  mysql: mysqlDialect,
  sqlite: sqliteDialect,
  duckdb: duckDbDialect,
};

export function dialectFor(engine: Engine): Dialect {
  return DIALECTS[engine];
}
