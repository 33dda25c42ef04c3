/** PostgreSQL sites are read through pg_catalog, exactly as the source is (one implementation). */
export { introspectPostgres, mapPgType } from '../introspect-postgres.js';
