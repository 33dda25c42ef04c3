/** PGlite has PostgreSQL's pg_catalog: the same introspection serves it. */
export { introspectPostgres as introspectPGlite } from '../introspect-postgres.js';
