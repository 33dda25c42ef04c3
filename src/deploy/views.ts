/**
 * A relation's reconstruction plan as one SELECT in a site's dialect: horizontal pieces united
 * (UNION ALL when the fragments are disjoint), implied columns restored as constants, vertical
 * pieces joined on the primary key. This is the body of the decision site's views.
 */
import type { Relation } from '../catalog/types.js';
import type { Dialect } from '../engines/dialect.js';
import type { ResolvedFragment } from '../design/resolve.js';
import type { ReconstructionPlan } from '../validate/reconstruction.js';

/** How the decision site names a fragment's table: local table or linked (foreign) table. */
export type TableReference = (fragment: ResolvedFragment) => string;

interface Select {
  sql: string;
  columns: string[];
}

export function reconstructionSelect(
  plan: ReconstructionPlan,
  relation: Relation,
  dialect: Dialect,
  ref: TableReference,
): string {
  const q = (n: string) => dialect.quoteIdentifier(n);
  const columns = relation.columns.map((c) => c.name);
  if (plan.kind === 'empty') {
    // Nothing stores a row: an empty relation of the right shape.
    return `SELECT ${columns.map((c) => `NULL AS ${q(c)}`).join(', ')} WHERE 1 = 0`;
  }
  const allowDuplicates = !hasOverlap(plan);
  const body = selectOf(plan, relation, dialect, ref, allowDuplicates, { n: 0 });
  return `SELECT ${columns.map((c) => (body.columns.includes(c) ? `t.${q(c)}` : `NULL AS ${q(c)}`)).join(', ')} FROM (${body.sql}) AS t`;
}

function hasOverlap(plan: ReconstructionPlan): boolean {
  switch (plan.kind) {
    case 'fragment':
      return plan.fragment.overlapAllowed;
    case 'union':
    case 'join':
      return plan.parts.some(hasOverlap);
    case 'empty':
      return false;
  }
}

function selectOf(
  plan: ReconstructionPlan,
  relation: Relation,
  dialect: Dialect,
  ref: TableReference,
  unionAll: boolean,
  counter: { n: number },
): Select {
  const q = (n: string) => dialect.quoteIdentifier(n);
  const order = (cols: Iterable<string>) => {
    const set = new Set(cols);
    return relation.columns.map((c) => c.name).filter((c) => set.has(c));
  };
  switch (plan.kind) {
    case 'empty':
      return { sql: 'SELECT 1 WHERE 1 = 0', columns: [] };
    case 'fragment': {
      const f = plan.fragment;
      const columns = order([...f.columns, ...plan.implied.keys()]);
      const items = columns.map((c) => {
        if (f.columns.includes(c)) return q(c);
        const key = plan.implied.get(c)!;
        const type = relation.columns.find((x) => x.name === c)!.type;
        return `${key === null ? 'NULL' : dialect.literal(type, key)} AS ${q(c)}`;
      });
      return { sql: `SELECT ${items.join(', ')} FROM ${ref(f)}`, columns };
    }
    case 'union': {
      const parts = plan.parts.map((p) => selectOf(p, relation, dialect, ref, unionAll, counter));
      const columns = order(parts.flatMap((p) => p.columns));
      const aligned = parts.map((p) => {
        const alias = `u${counter.n++}`;
        const items = columns.map((c) => (p.columns.includes(c) ? `${alias}.${q(c)}` : `NULL AS ${q(c)}`));
        return `SELECT ${items.join(', ')} FROM (${p.sql}) AS ${alias}`;
      });
      return { sql: aligned.join(unionAll ? '\nUNION ALL\n' : '\nUNION\n'), columns };
    }
    case 'join': {
      const parts = plan.parts.map((p) => ({
        ...selectOf(p, relation, dialect, ref, unionAll, counter),
        alias: `j${counter.n++}`,
      }));
      const key = plan.key;
      const columns = order(parts.flatMap((p) => p.columns));
      const first = parts[0]!;
      const items = columns.map((c) => {
        const owner = key.includes(c) ? first : parts.find((p) => p.columns.includes(c))!;
        return `${owner.alias}.${q(c)}`;
      });
      let from = `(${first.sql}) AS ${first.alias}`;
      for (const p of parts.slice(1)) {
        const on = key.map((k) => `${first.alias}.${q(k)} = ${p.alias}.${q(k)}`).join(' AND ');
        from += `\nJOIN (${p.sql}) AS ${p.alias} ON ${on}`;
      }
      return { sql: `SELECT ${items.join(', ')} FROM ${from}`, columns };
    }
  }
}
