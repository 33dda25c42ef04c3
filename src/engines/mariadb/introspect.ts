/**
 * Reads a MariaDB/MySQL database (the connection's current one) through information_schema,
 * undoing ddbkit's own mapping where the engine type alone is ambiguous: tinyint(1) is boolean,
 * a LONGTEXT with a `json_valid` CHECK is JSON, a DATETIME commented `ddbkit:timestamptz` holds UTC.
 */
import type { Catalog, CheckConstraint, Column, ColumnType, ForeignKey, Relation, TypeFamily } from '../../catalog/types.js';
import type { SqlRunner } from '../sql-runner.js';

type ColumnRow = {
  table_name: string;
  column_name: string;
  data_type: string;
  column_type: string;
  is_nullable: string;
  numeric_precision: unknown;
  numeric_scale: unknown;
  character_maximum_length: unknown;
  column_default: string | null;
  column_comment: string;
};

export async function introspectMariaDb(runner: SqlRunner): Promise<Catalog> {
  const tables = await runner.query<{ table_name: string }>(
    `SELECT TABLE_NAME AS table_name FROM information_schema.TABLES
      WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
  );
  if (tables.length === 0) return { relations: [] };
  const columns = await runner.query<ColumnRow>(
    `SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, DATA_TYPE AS data_type, COLUMN_TYPE AS column_type,
            IS_NULLABLE AS is_nullable, NUMERIC_PRECISION AS numeric_precision, NUMERIC_SCALE AS numeric_scale,
            CHARACTER_MAXIMUM_LENGTH AS character_maximum_length, COLUMN_DEFAULT AS column_default, COLUMN_COMMENT AS column_comment
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME, ORDINAL_POSITION`,
  );
  const keys = await runner.query<{
    table_name: string;
    constraint_name: string;
    column_name: string;
    ref_table: string | null;
    ref_column: string | null;
  }>(
    `SELECT TABLE_NAME AS table_name, CONSTRAINT_NAME AS constraint_name, COLUMN_NAME AS column_name,
            REFERENCED_TABLE_NAME AS ref_table, REFERENCED_COLUMN_NAME AS ref_column
       FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = DATABASE()
      ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION`,
  );
  const checks = await runner.query<{ table_name: string; name: string; clause: string }>(
    `SELECT TABLE_NAME AS table_name, CONSTRAINT_NAME AS name, CHECK_CLAUSE AS clause
       FROM information_schema.CHECK_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY TABLE_NAME, CONSTRAINT_NAME`,
  );

  const relations: Relation[] = tables.map(({ table_name: table }) => {
    const own = checks.filter((c) => c.table_name === table);
    const jsonColumns = new Set(
      own.map((c) => /^json_valid\(`([^`]+)`\)$/i.exec(c.clause.trim())?.[1]).filter((x): x is string => x !== undefined),
    );
    const cols: Column[] = columns
      .filter((c) => c.table_name === table)
      .map((c) => {
        const column: Column = {
          name: c.column_name,
          type: mapMariaDbType(c, jsonColumns.has(c.column_name)),
          nullable: c.is_nullable === 'YES',
        };
        if (c.column_default !== null && c.column_default !== undefined && c.column_default !== 'NULL')
          column.defaultExpression = c.column_default;
        return column;
      });
    const tableKeys = keys.filter((k) => k.table_name === table);
    const primaryKey = tableKeys.filter((k) => k.constraint_name === 'PRIMARY').map((k) => k.column_name);
    const fkNames = [...new Set(tableKeys.filter((k) => k.ref_table !== null).map((k) => k.constraint_name))];
    const foreignKeys: ForeignKey[] = fkNames.map((name) => {
      const parts = tableKeys.filter((k) => k.constraint_name === name);
      return {
        name,
        columns: parts.map((k) => k.column_name),
        references: { relation: parts[0]?.ref_table ?? '', columns: parts.map((k) => k.ref_column ?? '') },
      };
    });
    const checkList: CheckConstraint[] = own
      .filter((c) => !/^json_valid\(`[^`]+`\)$/i.test(c.clause.trim()))
      .map((c) => ({ name: c.name, expression: c.clause }));
    return { name: table, columns: cols, primaryKey, foreignKeys, checks: checkList };
  });
  return { relations };
}

function num(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

export function mapMariaDbType(c: ColumnRow, isJson: boolean): ColumnType {
  const sqlType = c.column_type;
  const t = (family: TypeFamily, extra: Partial<ColumnType> = {}): ColumnType => ({ family, sqlType, ...extra });
  switch (c.data_type.toLowerCase()) {
    case 'tinyint':
      return /^tinyint\(1\)/i.test(sqlType) ? t('boolean') : t('integer', { bits: 16 });
    case 'smallint':
      return t('integer', { bits: 16 });
    case 'mediumint':
    case 'int':
      return t('integer', { bits: 32 });
    case 'bigint':
      return t('integer', { bits: 64 });
    case 'decimal':
      return t('decimal', { precision: num(c.numeric_precision) ?? 10, scale: num(c.numeric_scale) ?? 0 });
    case 'float':
    case 'double':
      return t('float');
    case 'char':
    case 'varchar': {
      const length = num(c.character_maximum_length);
      return length === undefined ? t('text') : t('text', { length });
    }
    case 'tinytext':
    case 'text':
    case 'mediumtext':
    case 'longtext':
      return isJson ? t('json') : t('text');
    case 'json':
      return t('json');
    case 'date':
      return t('date');
    case 'datetime':
      return /ddbkit:timestamptz/.test(c.column_comment) ? t('timestamptz') : t('timestamp');
    case 'timestamp':
      return t('timestamptz');
    case 'time':
      return t('time');
    case 'binary':
    case 'varbinary':
    case 'tinyblob':
    case 'blob':
    case 'mediumblob':
    case 'longblob':
      return t('binary');
    case 'uuid':
      return t('uuid');
    default:
      return t('other');
  }
}
