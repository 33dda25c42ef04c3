import type { Catalog, CheckConstraint, Column, ColumnType, ForeignKey, Relation, TypeFamily } from '../catalog/types.js';
import type { SqlRunner } from './sql-runner.js';

/**
 * Reads the catalog of one schema of a PostgreSQL database (real PostgreSQL 15+ or PGlite)
 * through pg_catalog. Ordinary tables only; relations in name order, columns in ordinal order.
 */
export async function introspectPostgres(runner: SqlRunner, schema = 'public'): Promise<Catalog> {
  const tables = await runner.query<{ oid: unknown; name: string }>(
    `SELECT c.oid::int8::text AS oid, c.relname::text AS name
       FROM pg_catalog.pg_class c
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r'
      ORDER BY c.relname`,
    [schema],
  );
  if (tables.length === 0) return { relations: [] };

  const columns = await runner.query<{
    table_oid: string;
    name: string;
    sql_type: string;
    base_type: string;
    typmod: number | string;
    not_null: boolean;
    default_expr: string | null;
  }>(
    `SELECT a.attrelid::int8::text AS table_oid,
            a.attname::text AS name,
            pg_catalog.format_type(a.atttypid, a.atttypmod) AS sql_type,
            bt.typname::text AS base_type,
            CASE WHEN t.typtype = 'd' AND a.atttypmod = -1 THEN t.typtypmod ELSE a.atttypmod END AS typmod,
            (a.attnotnull OR (t.typtype = 'd' AND t.typnotnull)) AS not_null,
            pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS default_expr
       FROM pg_catalog.pg_attribute a
       JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
       JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
       LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attrelid, a.attnum`,
    [schema],
  );

  const constraints = await runner.query<{
    table_oid: string;
    name: string;
    kind: string;
    columns: unknown;
    ref_table: string | null;
    ref_columns: unknown;
    definition: string;
  }>(
    `SELECT con.conrelid::int8::text AS table_oid,
            con.conname::text AS name,
            con.contype::text AS kind,
            pg_catalog.to_json(ARRAY(
              SELECT a.attname::text
                FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum
               ORDER BY k.ord)) AS columns,
            rc.relname::text AS ref_table,
            pg_catalog.to_json(ARRAY(
              SELECT a.attname::text
                FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum
               ORDER BY k.ord)) AS ref_columns,
            pg_catalog.pg_get_constraintdef(con.oid) AS definition
       FROM pg_catalog.pg_constraint con
       JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
       JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_catalog.pg_class rc ON rc.oid = con.confrelid
      WHERE n.nspname = $1 AND c.relkind = 'r' AND con.contype IN ('p', 'f', 'c')
      ORDER BY con.conrelid, con.conname`,
    [schema],
  );

  const relations: Relation[] = [];
  for (const t of tables) {
    const oid = String(t.oid);
    const cols: Column[] = columns
      .filter((c) => c.table_oid === oid)
      .map((c) => {
        const column: Column = {
          name: c.name,
          type: mapPgType(c.base_type, Number(c.typmod), c.sql_type),
          nullable: !c.not_null,
        };
        if (c.default_expr !== null && c.default_expr !== undefined) column.defaultExpression = c.default_expr;
        return column;
      });
    const own = constraints.filter((c) => c.table_oid === oid);
    const pk = own.find((c) => c.kind === 'p');
    const foreignKeys: ForeignKey[] = own
      .filter((c) => c.kind === 'f')
      .map((c) => ({
        name: c.name,
        columns: jsonStrings(c.columns),
        references: { relation: c.ref_table ?? '', columns: jsonStrings(c.ref_columns) },
      }));
    const checks: CheckConstraint[] = own
      .filter((c) => c.kind === 'c')
      .map((c) => ({ name: c.name, expression: checkExpression(c.definition) }));
    relations.push({
      name: t.name,
      columns: cols,
      primaryKey: pk ? jsonStrings(pk.columns) : [],
      foreignKeys,
      checks,
    });
  }
  return { relations };
}

function jsonStrings(value: unknown): string[] {
  const v = typeof value === 'string' ? (JSON.parse(value) as unknown) : value;
  if (!Array.isArray(v)) return [];
  return v.map((x) => String(x));
}

/** Maps a PostgreSQL base type name (pg_type.typname) and type modifier to a ColumnType. */
export function mapPgType(typname: string, typmod: number, sqlType: string): ColumnType {
  const t = (family: TypeFamily, extra: Partial<ColumnType> = {}): ColumnType => ({ family, sqlType, ...extra });
  switch (typname) {
    case 'int2':
      return t('integer', { bits: 16 });
    case 'int4':
      return t('integer', { bits: 32 });
    case 'int8':
      return t('integer', { bits: 64 });
    case 'numeric': {
      if (typmod < 4) return t('decimal');
      const m = typmod - 4;
      const precision = (m >> 16) & 0xffff;
      let scale = m & 0xffff;
      if (scale > 0x7fff) scale -= 0x10000; // PG 15 allows negative scales
      return t('decimal', { precision, scale });
    }
    case 'float4':
    case 'float8':
      return t('float');
    case 'text':
      return t('text');
    case 'varchar':
    case 'bpchar':
      return typmod >= 4 ? t('text', { length: typmod - 4 }) : t('text');
    case 'bool':
      return t('boolean');
    case 'date':
      return t('date');
    case 'timestamp':
      return t('timestamp');
    case 'timestamptz':
      return t('timestamptz');
    case 'time':
      return t('time');
    case 'json':
    case 'jsonb':
      return t('json');
    case 'bytea':
      return t('binary');
    case 'uuid':
      return t('uuid');
    default:
      return t('other');
  }
}

/**
 * `CHECK ((a > 0))` → `(a > 0)`; `CHECK (a > 0) NOT VALID` → `a > 0`: drops the keyword, the
 * parentheses that belong to the CHECK syntax and any trailing NOT VALID / NO INHERIT.
 * Parentheses PostgreSQL adds inside the expression are kept as printed.
 */
export function checkExpression(definition: string): string {
  let s = definition.trim();
  const m = /^CHECK\s*/i.exec(s);
  if (m) s = s.slice(m[0].length);
  // Strip trailing options outside the parenthesised expression.
  for (;;) {
    const trimmed = s.replace(/\s+(NOT\s+VALID|NO\s+INHERIT|NOT\s+ENFORCED)\s*$/i, '');
    if (trimmed === s) break;
    s = trimmed;
  }
  if (s.startsWith('(') && closingParen(s, 0) === s.length - 1) s = s.slice(1, -1).trim();
  return s;
}

/** Index of the parenthesis closing the one at `open`, skipping string literals and quoted identifiers. */
function closingParen(s: string, open: number): number {
  let depth = 0;
  for (let i = open; i < s.length; i++) {
    const ch = s[i];
    if (ch === "'" || ch === '"') {
      const q = ch;
      i++;
      while (i < s.length) {
        if (s[i] === q) {
          if (s[i + 1] === q) i += 2;
          else break;
        } else i++;
      }
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}
