/**
 * The correctness rules checked on the source's actual rows (`validate --data`): each row's
 * membership in each fragment is computed by the source itself, with the fragments' predicates
 * rendered as SQL (derived fragments as EXISTS over their parents), and the rows in no fragment,
 * with a cell stored nowhere, or with a cell stored twice are counted, with sample keys.
 */
import type { ResolvedFragment, ResolvedRelation } from '../design/resolve.js';
import type { SqlRunner } from '../engines/sql-runner.js';
import { membershipSql } from '../design/membership-sql.js';
import type { JsonValue } from '../predicate/index.js';
import type { Check } from './report.js';

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

function jsonValue(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (v instanceof Date) return v.toISOString().replace(/T00:00:00\.000Z$/, '');
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

export async function checkRelationData(
  r: ResolvedRelation,
  runner: SqlRunner,
  implied: (f: ResolvedFragment) => Set<string>,
): Promise<Check[]> {
  const { relation, fragments } = r;
  if (fragments.length === 0) return [];
  const key = relation.primaryKey.length > 0 ? relation.primaryKey : relation.columns.map((c) => c.name);
  const columns = relation.columns.map((c) => c.name);
  const m = (i: number) => `m${i}`;
  const memberships = fragments.map((f, i) => `CASE WHEN ${membershipSql(f, 'r')} THEN 1 ELSE 0 END AS ${m(i)}`);
  const sum = (indexes: number[]) => (indexes.length === 0 ? '0' : indexes.map(m).join(' + '));
  const all = fragments.map((_, i) => i);

  const provides = (c: string) => all.filter((i) => fragments[i]!.columns.includes(c) || implied(fragments[i]!).has(c));
  const cellColumns = columns.length === key.length ? columns : columns.filter((c) => !relation.primaryKey.includes(c));
  const storing = (c: string, which: (f: ResolvedFragment) => boolean) =>
    all.filter((i) => fragments[i]!.columns.includes(c) && which(fragments[i]!));

  const none = `(${sum(all)}) = 0`;
  const missing = `(${sum(all)}) > 0 AND (${columns.map((c) => `(${sum(provides(c))}) = 0`).join(' OR ')})`;
  const twice = (which: (f: ResolvedFragment) => boolean) => {
    const conds = cellColumns
      .map((c) => storing(c, which))
      .filter((ix) => ix.length >= 2)
      .map((ix) => `(${sum(ix)}) >= 2`);
    return conds.length ? conds.join(' OR ') : 'FALSE';
  };
  const duplicatedForbidden = twice((f) => !f.overlapAllowed);
  const duplicatedAny = twice(() => true);

  const base = `SELECT ${key.map((k) => `r.${q(k)}`).join(', ')}, ${memberships.join(', ')} FROM ${q(relation.name)} AS r`;
  const [counts] = await runner.query<Record<string, unknown>>(
    `SELECT count(*) AS total,
            count(*) FILTER (WHERE ${none}) AS in_none,
            count(*) FILTER (WHERE ${missing}) AS missing,
            count(*) FILTER (WHERE ${duplicatedForbidden}) AS twice_forbidden,
            count(*) FILTER (WHERE (${duplicatedAny}) AND NOT (${duplicatedForbidden})) AS twice_allowed
       FROM (${base}) AS t`,
  );
  const n = (k: string) => Number(counts?.[k] ?? 0);
  const samples = async (cond: string) => {
    const rows = await runner.query<Record<string, unknown>>(
      `SELECT ${key.map(q).join(', ')} FROM (${base}) AS t WHERE ${cond} ORDER BY ${key.map(q).join(', ')} LIMIT 3`,
    );
    return rows.map((row) => Object.fromEntries(key.map((k) => [k, jsonValue(row[k])])));
  };
  const total = n('total');
  const checks: Check[] = [];
  const rowsWord = (k: number) => `${k} row${k === 1 ? '' : 's'}`;
  const keysText = (s: Array<Record<string, JsonValue>>) => s.map((row) => Object.values(row).join('/')).join(', ');

  const inNone = n('in_none');
  const missingCells = n('missing');
  const completenessSamples = inNone > 0 ? await samples(none) : missingCells > 0 ? await samples(missing) : [];
  checks.push({
    rule: 'completeness',
    ok: inNone === 0 && missingCells === 0,
    severity: 'error',
    basis: 'data',
    message:
      inNone === 0 && missingCells === 0
        ? `all ${rowsWord(total)} of ${relation.name} are stored, every column of each`
        : [
            inNone > 0 ? `${inNone} of ${total} rows of ${relation.name} are in no fragment` : '',
            missingCells > 0 ? `${rowsWord(missingCells)} have a column stored in no fragment` : '',
          ]
            .filter(Boolean)
            .join('; ') + ` (keys ${keysText(completenessSamples)})`,
    rows: { checked: total, failing: inNone + missingCells, sampleKeys: completenessSamples },
  });

  const forbidden = n('twice_forbidden');
  const allowed = n('twice_allowed');
  const disjointSamples =
    forbidden > 0
      ? await samples(duplicatedForbidden)
      : allowed > 0
        ? await samples(`(${duplicatedAny}) AND NOT (${duplicatedForbidden})`)
        : [];
  checks.push({
    rule: 'disjointness',
    ok: forbidden === 0 && allowed === 0,
    severity: forbidden > 0 || allowed === 0 ? 'error' : 'warning',
    basis: 'data',
    message:
      forbidden === 0 && allowed === 0
        ? `no row of ${relation.name} has a non-key column stored by two fragments`
        : `${rowsWord(forbidden + allowed)} of ${relation.name} have a non-key column stored by two fragments${
            forbidden === 0 ? ' (declared with overlap: allowed)' : ''
          } (keys ${keysText(disjointSamples)})`,
    rows: { checked: total, failing: forbidden + allowed, sampleKeys: disjointSamples },
  });
  return checks;
}
