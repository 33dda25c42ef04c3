/**
 * Where a row of a global relation lives: the fragments whose definition it satisfies. A
 * horizontal fragment's predicate is evaluated on the row; a derived fragment takes the row when
 * its parent row (found through the foreign key) lies in the fragment it follows — so children
 * follow their parents' placement, at any depth; vertical fragments of the same rows all take it.
 */
import type { Relation } from '../catalog/types.js';
import { findColumn, sameName } from '../catalog/types.js';
import type { KnownPlacements } from '../query/known-rows.js';
import type { ResolvedDesign, ResolvedFragment, ResolvedRelation } from '../design/resolve.js';
import { type Key, evaluate, variablesOf } from '../predicate/index.js';
import { WriteError } from './errors.js';
import { keyOf, valueKey } from './values.js';

/** A full row of a relation: column name (as the source spells it) → canonical value. */
export type Row = Map<string, unknown>;

/**
 * Reads one row of a relation by the values of some columns (a key), inside the transaction:
 * only `read` columns are needed (the rest may be missing from the returned row).
 */
export type RowLookup = (relation: Relation, columns: string[], values: unknown[], read: string[]) => Promise<Row | undefined>;

/** What a looked-up row is for: knowing it exists (key columns suffice), or placing it. */
export type LookupPurpose = 'exists' | 'placement';

export class Router {
  /** Rows this statement already knows (read, or about to be written), by relation and key. */
  private readonly known = new Map<string, { row: Row | null; purpose: LookupPurpose }>();

  constructor(
    private readonly resolved: ResolvedDesign,
    private readonly lookup: RowLookup,
    /** The transaction's rows whose place is known (locked, inserted, moved). */
    private readonly held?: KnownPlacements,
  ) {}

  relationOf(relation: Relation): ResolvedRelation {
    return this.resolved.relations.find((r) => r.relation === relation)!;
  }

  /** Tells the router a row's new content (an update that moves a parent moves its children). */
  remember(relation: Relation, columns: string[], values: unknown[], row: Row | null): void {
    this.known.set(`${relation.name}:${columns.join(',')}:${valueKey(values)}`, { row, purpose: 'placement' });
  }

  /** The fragments a row belongs to (possibly none: the caller decides whether that is an error). */
  async placement(relation: Relation, row: Row): Promise<ResolvedFragment[]> {
    const rr = this.relationOf(relation);
    const out: ResolvedFragment[] = [];
    const parentPlacements = new Map<ResolvedFragment, Set<ResolvedFragment> | null>();
    let keys: ReturnType<typeof keyRow> | undefined;
    for (const f of rr.fragments) {
      if (f.where && evaluate(f.where, (keys ??= keyRow(relation, row))) !== true) continue;
      if (f.parent) {
        let placements = parentPlacements.get(f.parent.fragment);
        if (placements === undefined) {
          placements = await this.parentPlacement(relation, row, f);
          parentPlacements.set(f.parent.fragment, placements);
        }
        if (!placements?.has(f.parent.fragment)) continue;
      }
      out.push(f);
    }
    return out;
  }

  /** The parent row's fragments, or null when the foreign key is NULL (the row then follows no parent). */
  private async parentPlacement(relation: Relation, row: Row, f: ResolvedFragment): Promise<Set<ResolvedFragment> | null> {
    const { foreignKey } = f.parent!;
    const values = foreignKey.columns.map((c) => row.get(findColumn(relation, c)!.name));
    if (values.some((v) => v === null || v === undefined)) return null;
    const parentRelation = f.parent!.fragment.relation;
    const knownAt = this.knownParent(parentRelation, foreignKey.references.columns, values);
    if (knownAt) return knownAt;
    const parent = await this.row(parentRelation, foreignKey.references.columns, values);
    if (!parent) {
      throw new WriteError(
        `insert or update on ${relation.name} violates foreign key ${foreignKey.name}: ` +
          `(${foreignKey.columns.join(', ')}) = (${values.map(String).join(', ')}) is not present in ${parentRelation.name}`,
        'constraint',
        { constraint: foreignKey.name },
      );
    }
    return new Set(await this.placement(parentRelation, parent));
  }

  /** The fragments of a parent row the transaction holds, looked up by its primary key. */
  knownParent(parent: Relation, columns: string[], values: unknown[]): Set<ResolvedFragment> | undefined {
    if (!this.held) return undefined;
    const pk = parent.primaryKey;
    if (pk.length !== columns.length || !pk.every((c) => columns.some((x) => sameName(x, c)))) return undefined;
    const key = pk.map((c) => {
      const i = columns.findIndex((x) => sameName(x, c));
      return keyOf(findColumn(parent, c)!, values[i]);
    });
    if (key.some((k) => k === null)) return undefined;
    const names = this.held.get(parent, key as Key[]);
    if (!names) return undefined;
    return new Set(this.relationOf(parent).fragments.filter((f) => names.has(f.name)));
  }

  /** A row by key: from what this statement knows, else read from the sites. */
  async row(
    relation: Relation,
    columns: string[],
    values: unknown[],
    purpose: LookupPurpose = 'placement',
  ): Promise<Row | undefined> {
    const cacheKey = `${relation.name}:${columns.join(',')}:${valueKey(values)}`;
    const cached = this.known.get(cacheKey);
    if (cached && (cached.row === null || cached.purpose === 'placement' || purpose === 'exists')) return cached.row ?? undefined;
    const read = purpose === 'exists' ? columns : placementReadColumns(this.relationOf(relation), columns);
    const found = await this.lookup(relation, columns, values, read);
    this.known.set(cacheKey, { row: found ?? null, purpose });
    return found;
  }
}

/** The row as the predicate logic reads it: variable id (lower-cased column) → key. */
export function keyRow(relation: Relation, row: Row): Map<string, ReturnType<typeof keyOf>> {
  const out = new Map<string, ReturnType<typeof keyOf>>();
  for (const c of relation.columns) if (row.has(c.name)) out.set(c.name.toLowerCase(), keyOf(c, row.get(c.name)));
  return out;
}

/**
 * The columns placing a row needs: those its fragments' own predicates read and the foreign keys
 * its derived fragments follow (their parents are looked up in turn), with the key.
 */
function placementReadColumns(rr: ResolvedRelation, key: string[]): string[] {
  const out = new Set<string>([...key, ...rr.relation.primaryKey]);
  for (const f of rr.fragments) {
    if (f.where) for (const v of variablesOf(f.where).values()) out.add(findColumn(rr.relation, v.name)?.name ?? v.name);
    if (f.parent) for (const c of f.parent.foreignKey.columns) out.add(findColumn(rr.relation, c)?.name ?? c);
  }
  return rr.relation.columns.map((c) => c.name).filter((c) => out.has(c));
}
