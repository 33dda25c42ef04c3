/** Reads a DuckDB database's main schema: information_schema for columns, duckdb_constraints() for keys and CHECKs. */
import type { Catalog, ColumnType, Relation, TypeFamily } from '../../catalog/types.js';
import type { SqlRunner } from '../sql-runner.js';

export async function introspectDuckDb(runner: SqlRunner): Promise<Catalog> {
  const tables = await runner.query<{ name: string }>(
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY table_name",
  );
  const columns = await runner.query<{
    table_name: string;
    name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
  }>(
    `SELECT table_name, column_name AS name, data_type, is_nullable, column_default
       FROM information_schema.columns WHERE table_schema = 'main' ORDER BY table_name, ordinal_position`,
  );
  const constraints = await runner.query<{
    table_name: string;
    kind: string;
    name: string | null;
    expression: string | null;
    cols: string;
    ref_table: string | null;
    ref_cols: string | null;
  }>(
    `SELECT table_name, constraint_type AS kind, constraint_name AS name, expression,
            to_json(constraint_column_names)::VARCHAR AS cols, referenced_table AS ref_table,
            to_json(referenced_column_names)::VARCHAR AS ref_cols
       FROM duckdb_constraints() WHERE schema_name = 'main' ORDER BY table_name, constraint_index`,
  );
  const relations: Relation[] = tables.map(({ name }) => {
    const own = constraints.filter((c) => c.table_name === name);
    const pk = own.find((c) => c.kind === 'PRIMARY KEY');
    return {
      name,
      columns: columns
        .filter((c) => c.table_name === name)
        .map((c) => ({
          name: c.name,
          type: mapDuckDbType(c.data_type),
          nullable: c.is_nullable === 'YES',
          ...(c.column_default !== null ? { defaultExpression: c.column_default } : {}),
        })),
      primaryKey: pk ? (JSON.parse(pk.cols) as string[]) : [],
      foreignKeys: own
        .filter((c) => c.kind === 'FOREIGN KEY')
        .map((c, i) => ({
          name: c.name ?? `${name}_fk${i}`,
          columns: JSON.parse(c.cols) as string[],
          references: { relation: c.ref_table ?? '', columns: c.ref_cols ? (JSON.parse(c.ref_cols) as string[]) : [] },
        })),
      checks: own
        .filter((c) => c.kind === 'CHECK')
        .map((c, i) => ({ name: c.name ?? `${name}_check${i}`, expression: c.expression ?? '' })),
    };
  });
  return { relations };
}

export function mapDuckDbType(dataType: string): ColumnType {
  const sqlType = dataType;
  const u = dataType.toUpperCase();
  const t = (family: TypeFamily, extra: Partial<ColumnType> = {}): ColumnType => ({ family, sqlType, ...extra });
  const dec = /^DECIMAL\((\d+),\s*(\d+)\)$/.exec(u);
  if (dec) return t('decimal', { precision: Number(dec[1]), scale: Number(dec[2]) });
  switch (u) {
    case 'TINYINT':
    case 'SMALLINT':
      return t('integer', { bits: 16 });
    case 'INTEGER':
      return t('integer', { bits: 32 });
    case 'BIGINT':
      return t('integer', { bits: 64 });
    case 'FLOAT':
    case 'DOUBLE':
      return t('float');
    case 'VARCHAR':
      return t('text');
    case 'BOOLEAN':
      return t('boolean');
    case 'DATE':
      return t('date');
    case 'TIMESTAMP':
      return t('timestamp');
    case 'TIMESTAMP WITH TIME ZONE':
    case 'TIMESTAMPTZ':
      return t('timestamptz');
    case 'TIME':
      return t('time');
    case 'JSON':
      return t('json');
    case 'BLOB':
      return t('binary');
    case 'UUID':
      return t('uuid');
    default:
      return t('other');
  }
}
