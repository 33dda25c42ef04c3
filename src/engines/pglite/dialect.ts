/** PGlite is PostgreSQL: its dialect is PostgreSQL's, reused whole (as Kysely's PGlite dialect does). */
export { PostgresDialect as PGliteDialect, postgresDialect as pgliteDialect } from '../postgres/dialect.js';
