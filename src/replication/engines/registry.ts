/** The replication dialect of each engine (no driver loaded: scripts are written without sites). */
import type { Engine } from '../../design/schema.js';
import { MySqlDialect } from '../../engines/mariadb/dialect.js';
import type { ReplicationDialect } from './base.js';
import { DuckDbReplication } from './duckdb.js';
import { MariaDbReplication } from './mariadb.js';
import { PostgresReplication } from './postgres.js';
import { SqliteReplication } from './sqlite.js';

const postgres = new PostgresReplication();
const REPLICATION: Record<Engine, ReplicationDialect> = {
  postgres,
  pglite: postgres,
  mariadb: new MariaDbReplication(),
  mysql: new MariaDbReplication(new MySqlDialect()),
  sqlite: new SqliteReplication(),
  duckdb: new DuckDbReplication(),
};

export function replicationFor(engine: Engine): ReplicationDialect {
  return REPLICATION[engine];
}
