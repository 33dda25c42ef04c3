/**
 * Reads a SQLite database: tables from sqlite_schema, columns and keys from PRAGMAs, types from
 * the declared type names ddbkit wrote (see dialect.ts), CHECKs from the CREATE TABLE text.
 */
import type { Catalog, CheckConstraint, Column, ColumnType, ForeignKey, Relation, TypeFamily } from '../../catalog/types.js';
import type { SqlRunner } from '../sql-runner.js';

export async function introspectSqlite(runner: SqlRunner): Promise<Catalog> {
  const tables = await runner.query<{ name: string; sql: string }>(
    "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
  );
  const relations: Relation[] = [];
  for (const t of tables) {
    const quoted = `"${t.name.replace(/"/g, '""')}"`;
    const info = await runner.query<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(
      `PRAGMA table_info(${quoted})`,
    );
    const fks = await runner.query<{ id: number; seq: number; table: string; from: string; to: string }>(
      `PRAGMA foreign_key_list(${quoted})`,
    );
    const columns: Column[] = info.map((c) => {
      const column: Column = {
        name: c.name,
        type: mapSqliteType(c.type),
        nullable: Number(c.notnull) === 0 && Number(c.pk) === 0,
      };
      if (c.dflt_value !== null) column.defaultExpression = c.dflt_value;
      return column;
    });
    const primaryKey = info
      .filter((c) => Number(c.pk) > 0)
      .sort((a, b) => Number(a.pk) - Number(b.pk))
      .map((c) => c.name);
    const byId = new Map<number, ForeignKey>();
    for (const fk of fks) {
      const entry = byId.get(fk.id) ?? {
        name: `${t.name}_fk${fk.id}`,
        columns: [],
        references: { relation: fk.table, columns: [] },
      };
      entry.columns.push(fk.from);
      entry.references.columns.push(fk.to);
      byId.set(fk.id, entry);
    }
    relations.push({ name: t.name, columns, primaryKey, foreignKeys: [...byId.values()], checks: checksOf(t.sql) });
  }
  return { relations };
}

export function mapSqliteType(declared: string): ColumnType {
  const sqlType = declared;
  const u = declared.toUpperCase().trim();
  const t = (family: TypeFamily, extra: Partial<ColumnType> = {}): ColumnType => ({ family, sqlType, ...extra });
  const args = /\(\s*(\d+)\s*(?:,\s*(-?\d+)\s*)?\)/.exec(u);
  if (u === 'SMALLINT') return t('integer', { bits: 16 });
  if (u === 'INTEGER' || u === 'INT') return t('integer', { bits: 32 });
  if (u.includes('INT')) return t('integer', { bits: 64 });
  if (/^(NUMERIC|DECIMAL)/.test(u))
    return args ? t('decimal', { precision: Number(args[1]), scale: Number(args[2] ?? 0) }) : t('decimal');
  if (/REAL|FLOA|DOUB/.test(u)) return t('float');
  if (/^BOOL/.test(u)) return t('boolean');
  if (u === 'DATE') return t('date');
  if (u === 'TIMESTAMPTZ') return t('timestamptz');
  if (u === 'TIMESTAMP' || u === 'DATETIME') return t('timestamp');
  if (u === 'TIME') return t('time');
  if (u.startsWith('JSON')) return t('json');
  if (u === 'BLOB' || u === '') return t('binary');
  if (u === 'UUID') return t('uuid');
  if (/CHAR|TEXT|CLOB/.test(u)) return args ? t('text', { length: Number(args[1]) }) : t('text');
  return t('other');
}

/** `CONSTRAINT "name" CHECK (…)` clauses of a CREATE TABLE statement, parentheses balanced. */
function checksOf(createSql: string): CheckConstraint[] {
  const out: CheckConstraint[] = [];
  const re = /CONSTRAINT\s+("(?:[^"]|"")+"|\w+)\s+CHECK\s*\(/gi;
  for (let m = re.exec(createSql); m; m = re.exec(createSql)) {
    let depth = 1;
    let i = re.lastIndex;
    for (; i < createSql.length && depth > 0; i++) {
      const ch = createSql[i];
      if (ch === "'") {
        i = createSql.indexOf("'", i + 1);
        while (createSql[i + 1] === "'") i = createSql.indexOf("'", i + 2);
      } else if (ch === '(') depth++;
      else if (ch === ')') depth--;
    }
    const raw = m[1] ?? '';
    const name = raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw;
    out.push({ name, expression: createSql.slice(re.lastIndex, i - 1).trim() });
  }
  return out;
}
