/**
 * A fragment's membership as an SQL condition over the source (PostgreSQL or PGlite): its own
 * predicate, and for a derived fragment an EXISTS over its parent's rows, recursively. Used to
 * check designs on the data and to extract each fragment's rows when deploying.
 */
import { type Variable, renderSql } from '../predicate/index.js';
import type { ResolvedFragment } from './resolve.js';

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The condition, over the source row aliased `alias`, that puts the row in the fragment. */
export function membershipSql(f: ResolvedFragment, alias: string, depth = 0): string {
  const parts: string[] = [];
  if (f.where) {
    parts.push(renderSql(f.where, { column: (v: Variable) => `${alias}.${q(v.name)}` }));
  }
  if (f.parent) {
    const { fragment: parent, foreignKey } = f.parent;
    const p = `p${depth + 1}`;
    const join = foreignKey.columns
      .map((c, i) => `${p}.${q(foreignKey.references.columns[i]!)} = ${alias}.${q(c)}`)
      .join(' AND ');
    parts.push(
      `EXISTS (SELECT 1 FROM ${q(parent.relation.name)} AS ${p} WHERE ${join} AND (${membershipSql(parent, p, depth + 1)}))`,
    );
  }
  return parts.length === 0 ? 'TRUE' : parts.map((x) => `(${x})`).join(' AND ');
}

/** The SELECT that extracts a fragment's rows (its columns, in relation order) from the source. */
export function fragmentSelectSql(f: ResolvedFragment, orderByKey = true): string {
  const key = f.relation.primaryKey.filter((k) => f.columns.includes(k));
  const order = orderByKey && key.length > 0 ? ` ORDER BY ${key.map((k) => `r.${q(k)}`).join(', ')}` : '';
  return `SELECT ${f.columns.map((c) => `r.${q(c)}`).join(', ')} FROM ${q(f.relation.name)} AS r WHERE ${membershipSql(f, 'r')}${order}`;
}
