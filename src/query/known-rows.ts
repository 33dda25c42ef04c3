/**
 * What a transaction knows about where its rows live. A row it locked (SELECT … FOR UPDATE by
 * primary key), inserted or moved cannot move under it until it ends, so later statements about
 * the same key — or about rows derived from it — need only the fragments that hold it: a borrow
 * that locked book 7 at FST updates its stock and inserts its loan at FST alone, instead of asking
 * every site.
 */
import type { Relation } from '../catalog/types.js';
import { sameName } from '../catalog/types.js';
import type { ResolvedFragment } from '../design/resolve.js';
import type { Key, Predicate } from '../predicate/index.js';

export class KnownPlacements {
  private readonly rows = new Map<string, Set<string>>();

  get(relation: Relation, key: readonly Key[]): ReadonlySet<string> | undefined {
    return this.rows.get(entry(relation, key));
  }

  set(relation: Relation, key: readonly Key[], fragments: Iterable<string>): void {
    this.rows.set(entry(relation, key), new Set(fragments));
  }

  /**
   * Whether a fragment can hold rows the condition asks for, given what is known: false when the
   * condition fixes the primary key of a row known elsewhere, or the foreign key a derived
   * fragment follows to a parent known in other fragments.
   */
  allows(f: ResolvedFragment, where: Predicate): boolean {
    const relation = f.relation;
    const own = fixedKey(where, relation.primaryKey);
    if (own) {
      const known = this.get(relation, own);
      if (known && !known.has(f.name)) return false;
    }
    if (f.parent) {
      const fk = f.parent.foreignKey;
      const parent = f.parent.fragment.relation;
      const values = fixedKey(where, fk.columns);
      if (values && sameColumns(fk.references.columns, parent.primaryKey)) {
        const byParentKey = parent.primaryKey.map((c) => values[fk.references.columns.findIndex((r) => sameName(r, c))]!);
        const known = this.get(parent, byParentKey);
        if (known && !known.has(f.parent.fragment.name)) return false;
      }
    }
    return true;
  }
}

/**
 * Where rows were last found by their primary key, across transactions: a hint, never a fact. A
 * key lookup asks the hinted fragments first and the others only if the row is not there. A row
 * found is the whole answer — fragments are disjoint, so no other holds that key (the direct path
 * is not taken for fragments declared with overlap) — and a wrong hint costs one more round trip,
 * never a wrong row. It spares a check-then-write transaction the question to every site about a
 * row whose fragment its predicate does not name (a book by id, fragmented by faculty).
 */
export class PlacementHints {
  private readonly rows = new Map<string, readonly string[]>();

  constructor(private readonly capacity: number) {}

  get(relation: Relation, key: readonly Key[]): readonly string[] | undefined {
    const k = entry(relation, key);
    const fragments = this.rows.get(k);
    if (fragments) {
      // Most recently used last: the oldest entry is the first to go.
      this.rows.delete(k);
      this.rows.set(k, fragments);
    }
    return fragments;
  }

  set(relation: Relation, key: readonly Key[], fragments: readonly string[]): void {
    const k = entry(relation, key);
    this.rows.delete(k);
    if (this.rows.size >= this.capacity) this.rows.delete(this.rows.keys().next().value!);
    this.rows.set(k, fragments);
  }

  forget(relation: Relation, key: readonly Key[]): void {
    this.rows.delete(entry(relation, key));
  }
}

function entry(relation: Relation, key: readonly Key[]): string {
  return `${relation.name}\u0000${key.map(keyText).join('\u0000')}`;
}

function keyText(k: Key): string {
  return typeof k === 'bigint'
    ? `n${k}`
    : typeof k === 'string'
      ? `s${k}`
      : `d${JSON.stringify(k, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`;
}

function sameColumns(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((c) => b.some((x) => sameName(x, c)));
}

/** The values a condition fixes for `columns` (equalities in its top-level AND), in that order. */
export function fixedKey(where: Predicate, columns: readonly string[]): Key[] | undefined {
  if (columns.length === 0) return undefined;
  const conjuncts = where.kind === 'and' ? where.args : [where];
  const out: Key[] = [];
  for (const c of columns) {
    const eq = conjuncts.find(
      (p): p is Extract<Predicate, { kind: 'compare' }> =>
        p.kind === 'compare' && p.op === '=' && p.exact && sameName(p.variable.name, c),
    );
    if (!eq) return undefined;
    out.push(eq.value);
  }
  return out;
}
