/**
 * INSERT, UPDATE and DELETE on global relations, run inside a distributed transaction.
 *
 * Two ways to run an UPDATE or DELETE:
 * - in place: when the change touches no column a fragment predicate, a key or a foreign key
 *   depends on (rows cannot move) and every fragment concerned can evaluate the WHERE itself, the
 *   statement is rewritten per fragment in its site's dialect and runs there;
 * - row by row: otherwise the matching rows are read (and locked) through the query engine, their
 *   new versions computed, checked (NOT NULL, CHECK, keys, foreign keys across sites) and placed;
 *   a row whose placement changes is deleted where it was and inserted where it now belongs, and
 *   the rows derived from it follow, at any depth.
 * INSERTs always go row by row: each row is routed to the fragments whose definition it satisfies.
 */
import type { DeleteStatement, Expr, InsertStatement, SelectedColumn, UpdateStatement } from 'pgsql-ast-parser';
import type { Column, Relation } from '../catalog/types.js';
import { findColumn, findRelation, sameName } from '../catalog/types.js';
import { tableName } from '../deploy/layout.js';
import type { ResolvedDesign, ResolvedFragment, ResolvedRelation } from '../design/resolve.js';
import { relationScope } from '../design/resolve.js';
import type { SiteSpec } from '../design/schema.js';
import { type SiteConnector, SiteError } from '../engines/connector.js';
import type { Dialect } from '../engines/dialect.js';
import { dialectFor } from '../engines/dialect-registry.js';
import {
  type Key,
  type Predicate,
  PredicateError,
  TRUE,
  type Universe,
  and,
  evaluate,
  parsePredicate,
  predicateFromExpr,
  variablesOf,
} from '../predicate/index.js';
import type { ReadContext } from '../query/distributed.js';
import { WriteError, isConstraintViolation } from './errors.js';
import { type Row, Router, keyRow } from './router.js';
import type { DistributedTransaction } from './transaction.js';
import { NOT_CONSTANT, bindParams, columnValue, constantValue, keyOf, sqlLiteral, valueKey } from './values.js';

export interface StatementResult {
  command: 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE' | 'BEGIN' | 'COMMIT' | 'ROLLBACK';
  columns: string[];
  /** Each column's type family, when known (output formatting). */
  families?: Array<string | undefined>;
  rows: Array<Record<string, unknown>>;
  rowCount: number;
  /** How an UPDATE/DELETE ran: 'in place' at the sites or 'row by row'. */
  path?: 'in place' | 'row by row';
}

/** What the executor needs from the distributed database. */
export interface GlobalReader {
  readonly resolved: ResolvedDesign;
  query(sql: string, options: { context: ReadContext }): Promise<{ columns: string[]; rows: unknown[][] }>;
  analysisOf(rr: ResolvedRelation): { universe: Universe };
  lookup(relation: Relation, read: string[], where: Predicate, context: ReadContext): Promise<unknown[][]>;
}

const PG = dialectFor('postgres');

export class WriteExecutor {
  private readonly checks = new Map<Relation, Array<{ name: string; predicate: Predicate }>>();

  constructor(
    private readonly db: GlobalReader,
    private readonly tx: DistributedTransaction,
    /** The statement's text: literals are read from it exactly. */
    private readonly sql: string,
    /** Values of `$1`… when the statement was parsed with its parameters unbound. */
    private readonly params?: readonly unknown[],
  ) {}

  // ---------------------------------------------------------------- INSERT

  async insert(stmt: InsertStatement): Promise<StatementResult> {
    if (stmt.onConflict) throw unsupported('INSERT … ON CONFLICT');
    const relation = this.relation(stmt.into.name, stmt.into.schema);
    const columns = (stmt.columns ?? relation.columns.map((c) => ({ name: c.name }))).map((n) => this.column(relation, n.name));
    const given = await this.insertValues(stmt, columns.length);
    const router = this.router();
    const rows: Row[] = [];
    for (const values of given) {
      const row: Row = new Map();
      for (const c of relation.columns) {
        const i = columns.indexOf(c);
        const v = i >= 0 && values[i] !== DEFAULT ? values[i] : await this.defaultOf(relation, c);
        row.set(c.name, columnValue(relation.name, c, v));
      }
      rows.push(row);
    }
    await this.checkKeysUnique(relation, rows, router);
    const placed: Array<{ row: Row; fragments: ResolvedFragment[] }> = [];
    for (const row of rows) {
      this.checkRow(relation, row);
      await this.checkForeignKeys(relation, row, router, undefined);
      placed.push({ row, fragments: await this.placeOrFail(relation, row, router) });
    }
    await this.insertPlaced(relation, placed);
    return this.result('INSERT', relation, stmt.returning, rows);
  }

  private async insertValues(stmt: InsertStatement, width: number): Promise<unknown[][]> {
    const source = stmt.insert;
    if (source.type === 'values') {
      const out: unknown[][] = [];
      for (const tuple of source.values) {
        if (tuple.length !== width) throw new WriteError(`INSERT has ${tuple.length} values for ${width} columns`, 'statement');
        const values = tuple.map((e) => (e.type === 'default' ? DEFAULT : constantValue(e, this.sql, this.params)));
        const computed = values.map((v, i) => (v === NOT_CONSTANT ? this.text(tuple[i]!) : undefined));
        if (computed.some((c) => c !== undefined)) {
          // Expressions (now(), 2 * 3, …) are evaluated by the query engine, once per tuple.
          const r = await this.read(`SELECT ${computed.map((c, i) => c ?? `NULL AS c${i}`).join(', ')}`, false);
          r.rows[0]!.forEach((v, i) => {
            if (computed[i] !== undefined) values[i] = v;
          });
        }
        out.push(values);
      }
      return out;
    }
    const selected = await this.read(this.text(source as unknown as Expr), false);
    if (selected.columns.length !== width)
      throw new WriteError(`INSERT … SELECT gives ${selected.columns.length} columns for ${width}`, 'statement');
    return selected.rows;
  }

  private async defaultOf(relation: Relation, column: Column): Promise<unknown> {
    const expr = column.defaultExpression?.trim();
    if (!expr) return null;
    if (CONSTANT_DEFAULTS.has(column)) return CONSTANT_DEFAULTS.get(column);
    if (/^nextval\s*\(/i.test(expr))
      throw new WriteError(
        `column ${relation.name}.${column.name} takes its value from a sequence of the central database (${expr}); ` +
          'a distributed database has no single sequence: give the value explicitly',
        'statement',
      );
    const r = await this.read(`SELECT ${expr.replace(/::[a-z ]+(\([\d, ]+\))?(\[\])?/gi, '')}`, false);
    const value = r.rows[0]?.[0] ?? null;
    // Constant defaults are computed once; now(), random() … every time.
    if (!/\(|current_|localtime/i.test(expr)) CONSTANT_DEFAULTS.set(column, value);
    return value;
  }

  // ---------------------------------------------------------------- UPDATE

  async update(stmt: UpdateStatement): Promise<StatementResult> {
    if (stmt.from) throw unsupported('UPDATE … FROM');
    const relation = this.relation(stmt.table.name, stmt.table.schema);
    const alias = stmt.table.alias ?? relation.name;
    const sets = stmt.sets.map((s) => ({ column: this.column(relation, s.column.name), value: s.value }));
    const rr = this.relationOf(relation);
    const where = stmt.where ? this.predicate(stmt.where, relation, alias) : TRUE;

    if (!stmt.returning && where) {
      const inPlace = this.inPlaceUpdate(rr, sets, where, alias);
      if (inPlace) return { command: 'UPDATE', columns: [], rows: [], rowCount: await inPlace(), path: 'in place' };
    }

    // Row by row: read the rows with their new values, computed by the query engine.
    const q = (n: string) => PG.quoteIdentifier(n);
    const setExprs = sets.map((s, i) =>
      s.value.type === 'default' ? `NULL AS ${q(`__ddbkit_set_${i}`)}` : `(${this.text(s.value)}) AS ${q(`__ddbkit_set_${i}`)}`,
    );
    const read = await this.read(
      `SELECT ${relation.columns.map((c) => `${q(alias)}.${q(c.name)}`).join(', ')}, ${setExprs.join(', ')} FROM ${q(relation.name)} AS ${q(alias)}${stmt.where ? ` WHERE ${this.text(stmt.where)}` : ''}`,
      true,
    );
    const n = relation.columns.length;
    const changes: Array<{ old: Row; next: Row }> = [];
    for (const values of read.rows) {
      const old: Row = new Map(relation.columns.map((c, i) => [c.name, columnValue(relation.name, c, values[i])]));
      const next: Row = new Map(old);
      for (let i = 0; i < sets.length; i++) {
        const s = sets[i]!;
        const v = s.value.type === 'default' ? await this.defaultOf(relation, s.column) : values[n + i];
        next.set(s.column.name, columnValue(relation.name, s.column, v));
      }
      changes.push({ old, next });
    }
    await this.applyChanges(relation, changes);
    return {
      ...this.result(
        'UPDATE',
        relation,
        stmt.returning,
        changes.map((c) => c.next),
      ),
      path: 'row by row',
    };
  }

  /** The in-place form of an UPDATE, or undefined when rows could move or a fragment cannot evaluate it. */
  private inPlaceUpdate(
    rr: ResolvedRelation,
    sets: Array<{ column: Column; value: Expr }>,
    where: Predicate,
    alias: string,
  ): (() => Promise<number>) | undefined {
    const relevant = placementColumns(rr, this.db.resolved);
    if (sets.some((s) => relevant.has(s.column.name))) return undefined;
    const whereColumns = [...variablesOf(where).values()].map((v) => v.name);
    const { universe } = this.db.analysisOf(rr);
    const work: Array<{ fragment: ResolvedFragment; counts: boolean; sql: (d: Dialect) => string }> = [];
    const first = sets[0]!.column.name;
    for (const f of rr.fragments) {
      const mine = sets.filter((s) => f.columns.includes(s.column.name));
      if (mine.length === 0) continue;
      const take = this.inPlaceFragment(f, where, whereColumns, universe);
      if (take === 'no') return undefined;
      if (take === 'skip') continue;
      const stored = new Set(f.columns);
      const rendered: Array<{ column: string; render: (d: Dialect) => string }> = [];
      for (const s of mine) {
        // SQLite computes on decimals in binary floating point: exact arithmetic goes row by row there.
        if (s.value.type === 'binary' && s.column.type.family !== 'integer' && f.sites.some((x) => x.engine === 'sqlite'))
          return undefined;
        const render = renderableExpr(s.value, rr.relation, alias, stored, this.sql, this.params);
        if (!render) return undefined;
        rendered.push({ column: s.column.name, render });
      }
      const table = tableName(f);
      work.push({
        fragment: f,
        counts: f.columns.includes(first),
        sql: (d) =>
          `UPDATE ${d.quoteIdentifier(table)} SET ${rendered.map((r) => `${d.quoteIdentifier(r.column)} = ${r.render(d)}`).join(', ')}` +
          (where.kind === 'const' ? '' : ` WHERE ${d.renderPredicate(where)}`),
      });
    }
    return async () => {
      const counts = await Promise.all(work.map((w) => this.atSites(w.fragment, (c) => c.modify(w.sql(c.dialect)))));
      return work.reduce((sum, w, i) => sum + (w.counts ? counts[i]! : 0), 0);
    };
  }

  // ---------------------------------------------------------------- DELETE

  async delete(stmt: DeleteStatement): Promise<StatementResult> {
    const relation = this.relation(stmt.from.name, stmt.from.schema);
    const alias = stmt.from.alias ?? relation.name;
    const rr = this.relationOf(relation);
    const where = stmt.where ? this.predicate(stmt.where, relation, alias) : TRUE;
    const referenced = referencingKeys(relation, this.db.resolved);

    if (!stmt.returning && where && referenced.length === 0) {
      const inPlace = this.inPlaceDelete(rr, where);
      if (inPlace) return { command: 'DELETE', columns: [], rows: [], rowCount: await inPlace(), path: 'in place' };
    }
    const q = (n: string) => PG.quoteIdentifier(n);
    const read = await this.read(
      `SELECT ${relation.columns.map((c) => `${q(alias)}.${q(c.name)}`).join(', ')} FROM ${q(relation.name)} AS ${q(alias)}${stmt.where ? ` WHERE ${this.text(stmt.where)}` : ''}`,
      true,
    );
    const rows = read.rows.map(
      (values) => new Map(relation.columns.map((c, i) => [c.name, columnValue(relation.name, c, values[i])])) as Row,
    );
    for (const row of rows) await this.checkNotReferenced(relation, row, referenced);
    const router = this.router();
    const byFragment = new Map<ResolvedFragment, Row[]>();
    for (const row of rows) {
      for (const f of await router.placement(relation, row)) byFragment.set(f, [...(byFragment.get(f) ?? []), row]);
    }
    await Promise.all([...byFragment.entries()].map(([f, rs]) => this.deleteRows(f, rs)));
    return { ...this.result('DELETE', relation, stmt.returning, rows), path: 'row by row' };
  }

  private inPlaceDelete(rr: ResolvedRelation, where: Predicate): (() => Promise<number>) | undefined {
    const whereColumns = [...variablesOf(where).values()].map((v) => v.name);
    const { universe } = this.db.analysisOf(rr);
    const work: ResolvedFragment[] = [];
    for (const f of rr.fragments) {
      const take = this.inPlaceFragment(f, where, whereColumns, universe);
      if (take === 'no') return undefined;
      if (take === 'take') work.push(f);
    }
    return async () => {
      const counts = await Promise.all(
        work.map((f) =>
          this.atSites(f, (c) =>
            c.modify(
              `DELETE FROM ${c.dialect.quoteIdentifier(tableName(f))}${where.kind === 'const' ? '' : ` WHERE ${c.dialect.renderPredicate(where)}`}`,
            ),
          ),
        ),
      );
      // Vertical fragments hold the same rows: count one column set's fragments.
      const byColumns = new Map<string, number>();
      work.forEach((f, i) => byColumns.set(f.columns.join(','), (byColumns.get(f.columns.join(',')) ?? 0) + counts[i]!));
      return Math.max(0, ...byColumns.values());
    };
  }

  /**
   * Whether an in-place statement runs at a fragment: 'skip' when the fragment cannot hold a
   * matching row (its predicate contradicts the WHERE, or the transaction holds the row
   * elsewhere), 'no' when the fragment cannot evaluate the WHERE itself (the statement then goes
   * row by row), 'take' otherwise.
   */
  private inPlaceFragment(
    f: ResolvedFragment,
    where: Predicate,
    whereColumns: string[],
    universe: Universe,
  ): 'take' | 'skip' | 'no' {
    if (!this.tx.known.allows(f, where)) return 'skip';
    if (
      !universe.findRow([
        { predicate: f.membership, is: 'true' },
        { predicate: where, is: 'true' },
      ])
    )
      return 'skip';
    const stored = new Set(f.columns);
    return whereColumns.every((c) => stored.has(c)) ? 'take' : 'no';
  }

  // ---------------------------------------------------------------- row-by-row machinery

  /** Old and new versions of rows: checked, re-placed; moved rows take their derived rows along. */
  private async applyChanges(
    relation: Relation,
    changes: Array<{ old: Row; next: Row }>,
    /** Where the old rows are, when computed before their parent moved (derived rows). */
    oldPlacements?: ResolvedFragment[][],
  ): Promise<void> {
    if (changes.length === 0) return;
    const before = this.router();
    const after = this.router();
    const pk = relation.primaryKey;
    const keyChanged = (c: { old: Row; next: Row }) => pk.some((k) => valueKey([c.old.get(k)]) !== valueKey([c.next.get(k)]));
    const referenced = referencingKeys(relation, this.db.resolved);
    for (const c of changes) {
      this.checkRow(relation, c.next);
      await this.checkForeignKeys(relation, c.next, after, c.old);
      if (keyChanged(c)) await this.checkNotReferenced(relation, c.old, referenced);
      after.remember(
        relation,
        pk,
        pk.map((k) => c.next.get(k)),
        c.next,
      );
    }
    const moved = changes.filter(keyChanged).map((c) => c.next);
    if (moved.length > 0) await this.checkKeysUnique(relation, moved, after);

    const plans: Array<{ old: Row; next: Row; from: ResolvedFragment[]; to: ResolvedFragment[] }> = [];
    for (const [i, c] of changes.entries()) {
      const from = oldPlacements?.[i] ?? (await before.placement(relation, c.old));
      const to = await this.placeOrFail(relation, c.next, after);
      plans.push({ ...c, from, to });
    }
    // Rows derived from a row whose placement changed move with it (read before anything is written).
    const childMoves: Array<() => Promise<void>> = [];
    for (const p of plans) {
      if (sameFragments(p.from, p.to)) continue;
      childMoves.push(...(await this.derivedMoves(relation, p.old, p.next)));
    }
    await Promise.all(plans.map((p) => this.writeChange(relation, p.old, p.next, p.from, p.to)));
    for (const move of childMoves) await move();
  }

  /** The rows that follow `old` through a derived fragment, re-placed after the parent's change. */
  private async derivedMoves(parent: Relation, old: Row, next: Row): Promise<Array<() => Promise<void>>> {
    const moves: Array<() => Promise<void>> = [];
    const seen = new Set<string>();
    for (const f of this.db.resolved.fragments) {
      if (!f.parent || f.parent.fragment.relation !== parent) continue;
      const child = f.relation;
      const fk = f.parent.foreignKey;
      const key = `${child.name}:${fk.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const values = fk.references.columns.map((c) => old.get(findColumn(parent, c)!.name));
      const found = await this.lookup(
        child,
        child.columns.map((c) => c.name),
        fk.columns.map((c) => findColumn(child, c)!.name),
        values,
        true,
      );
      if (found.length === 0) continue;
      const rows = found.map((vs) => new Map(child.columns.map((c, i) => [c.name, columnValue(child.name, c, vs[i])])) as Row);
      // Where the children are now: computed before the parent is written (it reads the parent).
      const router = this.router();
      const from: ResolvedFragment[][] = [];
      for (const r of rows) from.push(await router.placement(child, r));
      moves.push(async () => {
        // The parent now has its new content: the children's new placement follows it.
        const nextRows = rows.map((r) => {
          const n = new Map(r);
          fk.columns.forEach((c, i) =>
            n.set(findColumn(child, c)!.name, next.get(findColumn(parent, fk.references.columns[i]!)!.name)),
          );
          return n;
        });
        await this.applyChanges(
          child,
          rows.map((r, i) => ({ old: r, next: nextRows[i]! })),
          from,
        );
      });
    }
    return moves;
  }

  private async writeChange(
    relation: Relation,
    old: Row,
    next: Row,
    from: ResolvedFragment[],
    to: ResolvedFragment[],
  ): Promise<void> {
    const ops: Array<Promise<unknown>> = [];
    this.remember(relation, next, to);
    for (const f of from) {
      if (to.includes(f)) {
        const changed = f.columns.filter((c) => valueKey([old.get(c)]) !== valueKey([next.get(c)]));
        if (changed.length === 0) continue;
        ops.push(
          this.atSites(f, (c) => {
            const d = c.dialect;
            const cols = changed.map(
              (col) => `${d.quoteIdentifier(col)} = ${sqlLiteral(d, findColumn(relation, col)!, next.get(col))}`,
            );
            return c.modify(
              `UPDATE ${d.quoteIdentifier(tableName(f))} SET ${cols.join(', ')} WHERE ${keyCondition(d, relation, old)}`,
            );
          }),
        );
      } else {
        ops.push(this.deleteRows(f, [old]));
      }
    }
    const entering = to.filter((f) => !from.includes(f));
    if (entering.length > 0) ops.push(this.insertPlaced(relation, [{ row: next, fragments: entering }]));
    await Promise.all(ops);
  }

  private async deleteRows(f: ResolvedFragment, rows: Row[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 500) {
      const chunk = rows.slice(i, i + 500);
      await this.atSites(f, (c) =>
        c.modify(
          `DELETE FROM ${c.dialect.quoteIdentifier(tableName(f))} WHERE ${chunk.map((r) => `(${keyCondition(c.dialect, f.relation, r)})`).join(' OR ')}`,
        ),
      );
    }
  }

  /** Inserts rows into the fragments they were placed in: one multi-row INSERT per fragment and site. */
  private async insertPlaced(relation: Relation, placed: Array<{ row: Row; fragments: ResolvedFragment[] }>): Promise<void> {
    const byFragment = new Map<ResolvedFragment, Row[]>();
    for (const p of placed) {
      for (const f of p.fragments) byFragment.set(f, [...(byFragment.get(f) ?? []), p.row]);
      this.remember(relation, p.row, p.fragments);
    }
    await Promise.all(
      [...byFragment.entries()].map(async ([f, rows]) => {
        const columns = f.columns.map((c) => findColumn(relation, c)!);
        for (let i = 0; i < rows.length; i += 500) {
          const chunk = rows.slice(i, i + 500);
          await this.atSites(f, (c) => {
            const d = c.dialect;
            const values = chunk.map((r) => `(${columns.map((col) => sqlLiteral(d, col, r.get(col.name))).join(', ')})`);
            return c.modify(
              `INSERT INTO ${d.quoteIdentifier(tableName(f))} (${columns.map((col) => d.quoteIdentifier(col.name)).join(', ')}) VALUES ${values.join(', ')}`,
            );
          });
        }
      }),
    );
  }

  /**
   * Runs a write at every site that takes the fragment's writes: all replicas under synchronous
   * replication (the first listed, the primary copy, first: two transactions writing the same
   * row meet there and wait instead of deadlocking across replicas), the primary only under
   * asynchronous replication. Returns the primary's count.
   */
  private async atSites(f: ResolvedFragment, write: (c: SiteConnector) => Promise<number>): Promise<number> {
    const sites = writeSites(f);
    const run = async (site: SiteSpec): Promise<number> => {
      const c = await this.tx.session(site.name, false);
      let changed: number;
      try {
        changed = await this.tx.exclusive(site.name, () => write(c));
      } catch (e) {
        // The site's transaction may hold partial work of this statement: it must take part in the end.
        this.tx.markWritten(site.name);
        throw translate(e, f, site);
      }
      // A site where nothing changed holds no write: it commits like a reader, outside two-phase commit.
      if (changed > 0) this.tx.markWritten(site.name);
      return changed;
    };
    const first = await run(sites[0]!);
    await Promise.all(sites.slice(1).map(run));
    return first;
  }

  // ---------------------------------------------------------------- constraints

  private checkRow(relation: Relation, row: Row): void {
    for (const c of relation.columns) {
      if (!c.nullable && (row.get(c.name) ?? null) === null)
        throw new WriteError(
          `null value in column ${c.name} of relation ${relation.name} violates its not-null constraint`,
          'constraint',
          {
            constraint: `${relation.name}.${c.name} NOT NULL`,
          },
        );
    }
    const keys = keyRow(relation, row);
    for (const check of this.checksOf(relation)) {
      if (evaluate(check.predicate, keys) === false)
        throw new WriteError(`new row for relation ${relation.name} violates check constraint ${check.name}`, 'constraint', {
          constraint: check.name,
        });
    }
  }

  /** Foreign keys hold across sites: the parent row must exist wherever it is stored. */
  private async checkForeignKeys(relation: Relation, row: Row, router: Router, old: Row | undefined): Promise<void> {
    for (const fk of relation.foreignKeys) {
      const values = fk.columns.map((c) => row.get(findColumn(relation, c)!.name));
      if (values.some((v) => v === null || v === undefined)) continue;
      if (old && valueKey(fk.columns.map((c) => old.get(findColumn(relation, c)!.name))) === valueKey(values)) continue;
      const parent = findRelation(this.db.resolved.catalog, fk.references.relation);
      if (!parent) continue;
      // A parent this transaction locked or wrote exists, and stays.
      if (
        router.knownParent(
          parent,
          fk.references.columns.map((c) => findColumn(parent, c)!.name),
          values,
        )
      )
        continue;
      const found = await router.row(
        parent,
        fk.references.columns.map((c) => findColumn(parent, c)!.name),
        values,
        // A parent that derived fragments follow is read once, with what placing the child needs.
        this.relationOf(relation).fragments.some((f) => f.parent?.foreignKey === fk) ? 'placement' : 'exists',
      );
      if (!found)
        throw new WriteError(
          `insert or update on ${relation.name} violates foreign key ${fk.name}: (${fk.columns.join(', ')}) = (${values.map(String).join(', ')}) is not present in ${parent.name}`,
          'constraint',
          { constraint: fk.name },
        );
    }
  }

  /** A row still referenced by another relation's foreign key cannot go (NO ACTION, as the source declares by default). */
  private async checkNotReferenced(relation: Relation, row: Row, referencing: ReturnType<typeof referencingKeys>): Promise<void> {
    for (const { child, fk } of referencing) {
      const values = fk.references.columns.map((c) => row.get(findColumn(relation, c)!.name));
      if (values.some((v) => v === null || v === undefined)) continue;
      const childColumns = fk.columns.map((c) => findColumn(child, c)!.name);
      const r = { rows: await this.lookup(child, childColumns, childColumns, values, false) };
      if (r.rows.length > 0)
        throw new WriteError(
          `update or delete on ${relation.name} violates foreign key ${fk.name} on ${child.name}: (${fk.references.columns.join(', ')}) = (${values.map(String).join(', ')}) is still referenced from ${child.name}`,
          'constraint',
          { constraint: fk.name },
        );
    }
  }

  /**
   * Primary keys stay unique across fragments. When the key alone decides where a row goes, the
   * fragment's own PRIMARY KEY at its site already sees every competitor; otherwise the other
   * fragments are probed.
   */
  private async checkKeysUnique(relation: Relation, rows: Row[], router: Router): Promise<void> {
    const pk = relation.primaryKey;
    if (pk.length === 0) return;
    const seen = new Set<string>();
    for (const row of rows) {
      const k = valueKey(pk.map((c) => row.get(c)));
      if (seen.has(k)) throw duplicateKey(relation, row);
      seen.add(k);
    }
    if (keyDecidesPlacement(this.relationOf(relation), this.db.resolved)) return;
    for (const row of rows) {
      const existing = await router.row(
        relation,
        pk,
        pk.map((c) => row.get(c)),
        'exists',
      );
      if (existing) throw duplicateKey(relation, row);
    }
  }

  private async placeOrFail(relation: Relation, row: Row, router: Router): Promise<ResolvedFragment[]> {
    const fragments = await router.placement(relation, row);
    if (fragments.length > 0) return fragments;
    const rr = this.relationOf(relation);
    if (rr.fragments.length === 0)
      throw new WriteError(`relation ${relation.name} has no fragment in the design: its rows cannot be stored`, 'constraint');
    const key = relation.primaryKey.map((c) => `${c}=${String(row.get(c))}`).join(', ');
    throw new WriteError(
      `the row of ${relation.name} (${key}) belongs to no fragment: it satisfies none of ${rr.fragments
        .map((f) => `${f.name} (${f.spec.where ?? (f.parent ? `follows ${f.parent.fragment.name}` : 'all rows')})`)
        .join(', ')}; nothing was written`,
      'constraint',
    );
  }

  private checksOf(relation: Relation): Array<{ name: string; predicate: Predicate }> {
    let checks = this.checks.get(relation);
    if (!checks) {
      const scope = relationScope(relation);
      checks = relation.checks.flatMap((c) => {
        try {
          return [{ name: c.name, predicate: parsePredicate(c.expression, scope) }];
        } catch {
          return []; // the site's own CHECK still enforces it
        }
      });
      this.checks.set(relation, checks);
    }
    return checks;
  }

  // ---------------------------------------------------------------- helpers

  private router(): Router {
    return new Router(
      this.db.resolved,
      async (relation, columns, values, readColumns) => {
        const first = (await this.lookup(relation, readColumns, columns, values, false))[0];
        return first
          ? new Map(readColumns.map((c, i) => [c, columnValue(relation.name, findColumn(relation, c)!, first[i])]))
          : undefined;
      },
      this.tx.known,
    );
  }

  /** The transaction wrote this row there: later statements about its key go there only. */
  private remember(relation: Relation, row: Row, fragments: ResolvedFragment[]): void {
    if (relation.primaryKey.length === 0) return;
    const key = relation.primaryKey.map((c) => keyOf(findColumn(relation, c)!, row.get(c)));
    if (key.some((k) => k === null)) return;
    this.tx.known.set(
      relation,
      key as Key[],
      fragments.map((f) => f.name),
    );
  }

  /** Rows of a relation whose `columns` equal `values`, read inside the transaction without SQL text. */
  private lookup(relation: Relation, read: string[], columns: string[], values: unknown[], lock: boolean): Promise<unknown[][]> {
    const scope = relationScope(relation);
    const where = and(
      ...columns.map((c, i): Predicate => {
        const variable = scope.variables.get(findColumn(relation, c)!.name)!;
        const key = keyOf(variable, values[i]);
        return key === null
          ? { kind: 'isNull', variable, negated: false }
          : { kind: 'compare', variable, op: '=', value: key, exact: true };
      }),
    );
    const tx = this.tx;
    return this.db.lookup(relation, read, where, {
      use: async (site, fn) => {
        const c = await tx.session(site, false);
        return tx.exclusive(site, () => fn(c));
      },
      lock,
      known: tx.known,
    });
  }

  /** A global SELECT inside the transaction (its sessions see its own writes; `lock` takes row locks). */
  private async read(sql: string, lock: boolean): Promise<{ columns: string[]; rows: unknown[][] }> {
    const tx = this.tx;
    return this.db.query(sql, {
      context: {
        use: async (site, fn) => {
          const c = await tx.session(site, false);
          return tx.exclusive(site, () => fn(c));
        },
        lock,
        known: tx.known,
      },
    });
  }

  private relation(name: string, schema?: string): Relation {
    if (schema && schema !== 'public') throw new WriteError(`relation ${schema}.${name} does not exist`, 'statement');
    const r = findRelation(this.db.resolved.catalog, name);
    if (!r) throw new WriteError(`relation ${name} does not exist in the global schema`, 'statement');
    return r;
  }

  private relationOf(relation: Relation): ResolvedRelation {
    return this.db.resolved.relations.find((r) => r.relation === relation)!;
  }

  private column(relation: Relation, name: string): Column {
    const c = findColumn(relation, name);
    if (!c) throw new WriteError(`column ${name} of relation ${relation.name} does not exist`, 'statement');
    return c;
  }

  /** The WHERE as a predicate over the relation, or undefined when the predicate logic cannot read it. */
  private predicate(where: Expr, relation: Relation, alias: string): Predicate | undefined {
    const scope = relationScope(relation);
    try {
      return predicateFromExpr(
        where,
        this.sql,
        {
          ...scope,
          resolve: (name, qualifier) =>
            qualifier && !sameName(qualifier, alias) && !sameName(qualifier, relation.name)
              ? undefined
              : scope.resolve(name, undefined),
        },
        this.params,
      );
    } catch (e) {
      if (e instanceof PredicateError) return undefined;
      throw e;
    }
  }

  /**
   * An expression's text as written (the statement is PostgreSQL-flavoured, as global queries
   * are), with the statement's parameters bound into it.
   */
  private text(expr: Expr): string {
    const loc = (expr as { _location?: { start: number; end: number } })._location;
    if (!loc) throw unsupported(`expression of type ${expr.type}`);
    const text = this.sql.slice(loc.start, loc.end);
    return this.params && this.params.length > 0 ? bindParams(text, this.params) : text;
  }

  private result(
    command: StatementResult['command'],
    relation: Relation,
    returning: SelectedColumn[] | null | undefined,
    rows: Row[],
  ): StatementResult {
    if (!returning) return { command, columns: [], rows: [], rowCount: rows.length };
    const items = returning.flatMap((item) => {
      const e = item.expr;
      if (e.type !== 'ref') throw unsupported('RETURNING of an expression (return columns, or *)');
      if (e.name === '*') return relation.columns.map((c) => ({ as: c.name, column: c }));
      return [{ as: item.alias?.name ?? e.name, column: this.column(relation, e.name) }];
    });
    return {
      command,
      columns: items.map((i) => i.as),
      families: items.map((i) => i.column.type.family),
      rows: rows.map((r) => Object.fromEntries(items.map((i) => [i.as, r.get(i.column.name) ?? null]))),
      rowCount: rows.length,
    };
  }
}

const DEFAULT = Symbol('default');
const CONSTANT_DEFAULTS = new WeakMap<Column, unknown>();

function unsupported(what: string): WriteError {
  return new WriteError(`${what} is not supported by ddbkit's write path`, 'statement');
}

function duplicateKey(relation: Relation, row: Row): WriteError {
  const pk = relation.primaryKey;
  return new WriteError(
    `duplicate key value violates the primary key of ${relation.name}: (${pk.join(', ')}) = (${pk.map((c) => String(row.get(c))).join(', ')}) already exists`,
    'constraint',
    { constraint: `${relation.name} primary key` },
  );
}

function writeSites(f: ResolvedFragment): SiteSpec[] {
  return f.replication === 'async' ? [f.sites[0]!] : f.sites;
}

function translate(e: unknown, f: ResolvedFragment, site: SiteSpec): unknown {
  if (e instanceof SiteError && isConstraintViolation(e))
    return new WriteError(`fragment ${f.name}: ${e.message}`, 'constraint', { site: site.name, cause: e });
  return e;
}

function keyCondition(d: Dialect, relation: Relation, row: Row): string {
  const key = relation.primaryKey.length > 0 ? relation.primaryKey : relation.columns.map((c) => c.name);
  return key
    .map((k) => {
      const c = findColumn(relation, k)!;
      const v = row.get(c.name);
      return v === null || v === undefined
        ? `${d.quoteIdentifier(c.name)} IS NULL`
        : `${d.quoteIdentifier(c.name)} = ${sqlLiteral(d, c, v)}`;
    })
    .join(' AND ');
}

function sameFragments(a: ResolvedFragment[], b: ResolvedFragment[]): boolean {
  return a.length === b.length && a.every((f) => b.includes(f));
}

/** Foreign keys of other relations that point at this one. */
function referencingKeys(relation: Relation, resolved: ResolvedDesign) {
  return resolved.catalog.relations.flatMap((child) =>
    child.foreignKeys.filter((fk) => sameName(fk.references.relation, relation.name)).map((fk) => ({ child, fk })),
  );
}

const placementCache = new WeakMap<ResolvedRelation, Set<string>>();

/**
 * The columns whose change can move a row or break a key: those the fragment predicates read,
 * the primary key, the foreign keys, and the columns other relations' foreign keys point at.
 */
export function placementColumns(rr: ResolvedRelation, resolved: ResolvedDesign): Set<string> {
  let out = placementCache.get(rr);
  if (out) return out;
  const relation = rr.relation;
  out = new Set<string>(relation.primaryKey);
  for (const f of rr.fragments) {
    for (const v of variablesOf(f.membership).values()) {
      const c = findColumn(relation, v.name);
      if (c && !v.id.includes('(')) out.add(c.name);
    }
  }
  for (const fk of relation.foreignKeys) for (const c of fk.columns) out.add(findColumn(relation, c)?.name ?? c);
  for (const { fk } of referencingKeys(relation, resolved))
    for (const c of fk.references.columns) out.add(findColumn(relation, c)?.name ?? c);
  placementCache.set(rr, out);
  return out;
}

/** Whether the primary key alone decides a row's fragments (then each site's PRIMARY KEY suffices). */
function keyDecidesPlacement(rr: ResolvedRelation, resolved: ResolvedDesign): boolean {
  const pk = new Set(rr.relation.primaryKey.map((c) => c.toLowerCase()));
  for (const f of rr.fragments) {
    for (const v of variablesOf(f.where ?? TRUE).values()) if (!pk.has(v.id)) return false;
    if (f.parent) {
      // Rows with the same key share the foreign key, hence the one parent row, hence its place.
      const fk = f.parent.foreignKey;
      if (!fk.columns.every((c) => pk.has(c.toLowerCase()))) return false;
      const parent = resolved.relations.find((r) => r.relation === f.parent!.fragment.relation)!;
      const parentPk = new Set(parent.relation.primaryKey.map((c) => c.toLowerCase()));
      if (fk.references.columns.length !== parentPk.size || !fk.references.columns.every((c) => parentPk.has(c.toLowerCase())))
        return false;
    }
  }
  return true;
}

/**
 * A SET expression the sites can evaluate alike: column references, literals, + - * and unary
 * minus, COALESCE/ABS/LOWER/UPPER — rendered per dialect. Anything else goes row by row.
 */
function renderableExpr(
  expr: Expr,
  relation: Relation,
  alias: string,
  stored: Set<string>,
  sql: string,
  params?: readonly unknown[],
): ((d: Dialect) => string) | undefined {
  switch (expr.type) {
    case 'parameter': {
      const v = constantValue(expr, sql, params);
      if (v === null) return () => 'NULL';
      if (typeof v === 'boolean') return () => (v ? 'TRUE' : 'FALSE');
      const text = String(v);
      if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return () => `(${text})`;
      const column: Column = { name: 'value', type: { family: 'text', sqlType: 'text' }, nullable: true };
      return (d) => sqlLiteral(d, column, text);
    }
    case 'ref': {
      if (expr.table && !sameName(expr.table.name, alias) && !sameName(expr.table.name, relation.name)) return undefined;
      const c = findColumn(relation, expr.name);
      if (!c || !stored.has(c.name)) return undefined;
      return (d) => d.quoteIdentifier(c.name);
    }
    case 'integer':
    case 'numeric': {
      const v = constantValue(expr, sql, params);
      return typeof v === 'string' ? () => v : undefined;
    }
    case 'string': {
      const text: Column = { name: 'value', type: { family: 'text', sqlType: 'text' }, nullable: true };
      return (d) => sqlLiteral(d, text, expr.value);
    }
    case 'null':
      return () => 'NULL';
    case 'unary': {
      if (expr.op !== '-') return undefined;
      const inner = renderableExpr(expr.operand, relation, alias, stored, sql, params);
      return inner ? (d) => `(-${inner(d)})` : undefined;
    }
    case 'binary': {
      if (expr.op !== '+' && expr.op !== '-' && expr.op !== '*') return undefined;
      const l = renderableExpr(expr.left, relation, alias, stored, sql, params);
      const r = renderableExpr(expr.right, relation, alias, stored, sql, params);
      return l && r ? (d) => `(${l(d)} ${expr.op} ${r(d)})` : undefined;
    }
    case 'call': {
      const name = expr.function.name.toLowerCase();
      if (expr.function.schema || !['coalesce', 'abs', 'lower', 'upper'].includes(name)) return undefined;
      const args = expr.args.map((a) => renderableExpr(a, relation, alias, stored, sql, params));
      if (args.some((a) => !a)) return undefined;
      return (d) => `${name.toUpperCase()}(${args.map((a) => a!(d)).join(', ')})`;
    }
    default:
      return undefined;
  }
}
