/**
 * Writing a predicate tree back as SQL. Dialects differ in identifier quoting and in how a few
 * literals are spelt; they supply those hooks and share the rest (the tree, never string edits).
 */
import type { Predicate, Variable } from './ast.js';
import { type Key, domainOf } from './domain.js';

export interface SqlStyle {
  /** How a column is referenced, e.g. `"region"`, `` `region` `` or `p."region"`. */
  column(v: Variable): string;
  /** How a value is written; defaults to the PostgreSQL spelling. */
  literal?(v: Variable, key: Key): string;
}

export const postgresStyle: SqlStyle = {
  column: (v) => `"${v.name.replace(/"/g, '""')}"`,
};

function literal(style: SqlStyle, v: Variable, key: Key): string {
  return style.literal ? style.literal(v, key) : domainOf(v.type).toSql(key);
}

export function renderSql(p: Predicate, style: SqlStyle = postgresStyle): string {
  const r = (q: Predicate): string => renderSql(q, style);
  switch (p.kind) {
    case 'const':
      return p.value === null ? 'NULL' : p.value ? 'TRUE' : 'FALSE';
    case 'and':
      return p.args.map((a) => `(${r(a)})`).join(' AND ');
    case 'or':
      return p.args.map((a) => `(${r(a)})`).join(' OR ');
    case 'not':
      return `NOT (${r(p.arg)})`;
    case 'is': {
      const truth = p.truth === null ? 'NULL' : p.truth ? 'TRUE' : 'FALSE';
      return p.truth === null
        ? `(${r(p.operand)}) IS ${p.negated ? 'NOT ' : ''}NULL`
        : `(${r(p.operand)}) IS ${p.negated ? 'NOT ' : ''}${truth}`;
    }
    case 'isNull':
      return `${style.column(p.variable)} IS ${p.negated ? 'NOT ' : ''}NULL`;
    case 'column':
      return style.column(p.variable);
    case 'compare': {
      const col = style.column(p.variable);
      const lit = literal(style, p.variable, p.value);
      if (p.exact) return `${col} ${p.op} ${lit}`;
      // The literal lay strictly between lit and the next value of the column's type.
      switch (p.op) {
        case '=':
          return `(${col} IS NOT NULL AND FALSE)`;
        case '<>':
          return `${col} IS NOT NULL`;
        case '<':
        case '<=':
          return `${col} <= ${lit}`;
        default:
          return `${col} > ${lit}`;
      }
    }
    case 'in': {
      const col = style.column(p.variable);
      const items = p.values.map((k) => literal(style, p.variable, k));
      if (p.withNull) items.push('NULL');
      if (items.length === 0) return p.negated ? `${col} IS NOT NULL` : `(${col} IS NOT NULL AND FALSE)`;
      return `${col} ${p.negated ? 'NOT IN' : 'IN'} (${items.join(', ')})`;
    }
    case 'between': {
      const col = style.column(p.variable);
      const low = literal(style, p.variable, p.low);
      const high = literal(style, p.variable, p.high);
      const inside = p.lowExact ? `${col} BETWEEN ${low} AND ${high}` : `(${col} > ${low} AND ${col} <= ${high})`;
      return p.negated ? `NOT (${inside})` : inside;
    }
  }
}
