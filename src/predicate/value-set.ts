/**
 * Sets of values of one column: NULL or not, plus a sorted list of disjoint ranges of its domain.
 * These are the atoms the solver intersects, unites and complements; they are exact (no sampling).
 */
import type { Domain, Key } from './domain.js';

export interface Bound {
  key: Key;
  inclusive: boolean;
}

/** `lo`/`hi` undefined = unbounded on that side (only where the domain itself has no limit). */
export interface Range {
  lo?: Bound;
  hi?: Bound;
}

export interface ValueSet {
  /** Whether NULL belongs to the set. */
  nullable: boolean;
  /** Sorted, disjoint, non-empty, normalised ranges. */
  ranges: readonly Range[];
}

const flip = (b: Bound): Bound => ({ key: b.key, inclusive: !b.inclusive });

const shared = new WeakMap<Domain, ValueSets>();

/** All set operations of one domain. */
export class ValueSets {
  constructor(readonly domain: Domain) {}

  /** The (shared, stateless) operations of a domain. */
  static of(domain: Domain): ValueSets {
    let sets = shared.get(domain);
    if (!sets) shared.set(domain, (sets = new ValueSets(domain)));
    return sets;
  }

  readonly empty: ValueSet = { nullable: false, ranges: [] };
  readonly onlyNull: ValueSet = { nullable: true, ranges: [] };

  all(nullable: boolean): ValueSet {
    return this.make(nullable, [{}]);
  }

  point(key: Key): ValueSet {
    return this.make(false, [{ lo: { key, inclusive: true }, hi: { key, inclusive: true } }]);
  }

  points(keys: Key[]): ValueSet {
    return this.union(
      this.empty,
      this.make(
        false,
        keys.map((key) => ({ lo: { key, inclusive: true }, hi: { key, inclusive: true } })),
      ),
    );
  }

  /** Values v with `v op key` true; an inexact key is the representable value just below the literal. */
  compare(op: '=' | '<>' | '<' | '<=' | '>' | '>=', key: Key, exact: boolean): ValueSet {
    const at = (inclusive: boolean): Bound => ({ key, inclusive });
    switch (op) {
      case '=':
        return exact ? this.point(key) : this.empty;
      case '<>':
        return exact ? this.complementValues(this.point(key)) : this.all(false);
      case '<':
        return this.make(false, [{ hi: at(!exact) }]);
      case '<=':
        return this.make(false, [{ hi: at(true) }]);
      case '>':
        return this.make(false, [{ lo: at(false) }]);
      case '>=':
        return this.make(false, [{ lo: at(exact) }]);
    }
  }

  range(lo: Bound | undefined, hi: Bound | undefined): ValueSet {
    return this.make(false, [{ ...(lo ? { lo } : {}), ...(hi ? { hi } : {}) }]);
  }

  isEmpty(s: ValueSet): boolean {
    return !s.nullable && s.ranges.length === 0;
  }

  isAll(s: ValueSet, nullable: boolean): boolean {
    if ((nullable && !s.nullable) || s.ranges.length !== 1) return false;
    const { lo, hi } = s.ranges[0]!;
    const d = this.domain;
    const fromBottom = lo === undefined || (d.min !== undefined && lo.inclusive && d.compare(lo.key, d.min) === 0);
    const toTop = hi === undefined || (d.max !== undefined && hi.inclusive && d.compare(hi.key, d.max) === 0);
    return fromBottom && toTop;
  }

  contains(s: ValueSet, key: Key | null): boolean {
    if (key === null) return s.nullable;
    return s.ranges.some((r) => this.inRange(r, key));
  }

  /** Whether every value of a is in b. */
  subset(a: ValueSet, b: ValueSet): boolean {
    if (a.nullable && !b.nullable) return false;
    return this.intersect(a, this.complement(b)).ranges.length === 0;
  }

  intersect(a: ValueSet, b: ValueSet): ValueSet {
    const out: Range[] = [];
    let i = 0;
    let j = 0;
    while (i < a.ranges.length && j < b.ranges.length) {
      const x = a.ranges[i]!;
      const y = b.ranges[j]!;
      const r = this.normalize({ lo: this.maxLower(x.lo, y.lo), hi: this.minUpper(x.hi, y.hi) });
      if (r) out.push(r);
      // advance the range that ends first
      if (this.compareUpper(x.hi, y.hi) <= 0) i++;
      else j++;
    }
    return { nullable: a.nullable && b.nullable, ranges: out };
  }

  union(a: ValueSet, b: ValueSet): ValueSet {
    const all = [...a.ranges, ...b.ranges].sort((x, y) => this.compareLower(x.lo, y.lo));
    const out: Range[] = [];
    for (const r of all) {
      const last = out[out.length - 1];
      if (last && !this.gapBetween(last, r)) {
        out[out.length - 1] = { ...last, ...this.withHi(this.maxUpper(last.hi, r.hi)) };
      } else {
        out.push(r);
      }
    }
    return { nullable: a.nullable || b.nullable, ranges: out };
  }

  /** The complement within the domain, NULL included. */
  complement(s: ValueSet): ValueSet {
    return { nullable: !s.nullable, ranges: this.complementValues(s).ranges };
  }

  /** The non-NULL values not in s. */
  complementValues(s: ValueSet): ValueSet {
    const out: Range[] = [];
    let lo: Bound | undefined; // where the current gap starts; undefined = the bottom of the domain
    for (const r of s.ranges) {
      if (r.lo) {
        const gap = this.normalize({ ...(lo ? { lo } : {}), hi: flip(r.lo) });
        if (gap) out.push(gap);
      }
      if (!r.hi) return { nullable: false, ranges: out }; // this range reaches the top
      lo = flip(r.hi);
    }
    const tail = this.normalize(lo ? { lo } : {});
    if (tail) out.push(tail);
    return { nullable: false, ranges: out };
  }

  /** A member of the set, preferring readable values; NULL only when nothing else is there. */
  pick(s: ValueSet): Key | null {
    if (s.ranges.length === 0) {
      if (s.nullable) return null;
      throw new Error('pick() from an empty set');
    }
    for (const k of this.domain.niceValues()) if (this.contains(s, k)) return k;
    const d = this.domain;
    for (const r of s.ranges) {
      if (d.family === 'text' && r.lo && r.lo.key !== '') {
        // Strip the U+0001 successors that exclusive bounds leave, to propose readable strings.
        let base = r.lo.key as string;
        while (base.endsWith('\u0001')) base = base.slice(0, -1);
        for (const k of [`${base}x`, `${base}A`, `${base} other`]) if (this.inRange(r, k)) return k;
      }
    }
    const r = s.ranges[0]!;
    if (r.lo) {
      if (r.lo.inclusive) return r.lo.key;
      if (r.hi) return d.between(r.lo.key, r.hi.key);
      return d.above(r.lo.key);
    }
    if (r.hi) return r.hi.inclusive ? r.hi.key : d.below(r.hi.key);
    return d.niceValues()[0]!;
  }

  private make(nullable: boolean, ranges: Range[]): ValueSet {
    return { nullable, ranges: ranges.map((r) => this.normalize(r)).filter((r): r is Range => r !== undefined) };
  }

  private inRange(r: Range, key: Key): boolean {
    const c = this.domain.compare;
    if (r.lo && (r.lo.inclusive ? c(key, r.lo.key) < 0 : c(key, r.lo.key) <= 0)) return false;
    if (r.hi && (r.hi.inclusive ? c(key, r.hi.key) > 0 : c(key, r.hi.key) >= 0)) return false;
    if (!r.lo && this.domain.min !== undefined && c(key, this.domain.min) < 0) return false;
    if (!r.hi && this.domain.max !== undefined && c(key, this.domain.max) > 0) return false;
    return true;
  }

  /**
   * Brings a range to its canonical form (inclusive bounds wherever the domain allows it, clamped to
   * the domain's limits) or returns undefined when it holds no value.
   */
  private normalize(r: Range): Range | undefined {
    const d = this.domain;
    let lo = r.lo;
    let hi = r.hi;
    if (d.discrete || d.successorOnly) {
      if (lo === undefined) {
        if (d.min !== undefined) lo = { key: d.min, inclusive: true };
      } else {
        if (!lo.inclusive) lo = { key: d.succ(lo.key), inclusive: true };
        if (d.min !== undefined && d.compare(lo.key, d.min) < 0) lo = { key: d.min, inclusive: true };
      }
    }
    if (d.discrete) {
      if (hi === undefined) {
        if (d.max !== undefined) hi = { key: d.max, inclusive: true };
      } else {
        if (!hi.inclusive) hi = { key: d.pred(hi.key), inclusive: true };
        if (d.max !== undefined && d.compare(hi.key, d.max) > 0) hi = { key: d.max, inclusive: true };
      }
    }
    if (lo !== undefined && hi !== undefined) {
      const c = d.compare(lo.key, hi.key);
      if (c > 0 || (c === 0 && !(lo.inclusive && hi.inclusive))) return undefined;
    }
    if (lo === r.lo && hi === r.hi) return r;
    const out: Range = {};
    if (lo !== undefined) out.lo = lo;
    if (hi !== undefined) out.hi = hi;
    return out;
  }

  /** Whether some value lies strictly after range a ends and before range b starts. */
  private gapBetween(a: Range, b: Range): boolean {
    if (!a.hi || !b.lo) return false;
    return this.normalize({ lo: flip(a.hi), hi: flip(b.lo) }) !== undefined;
  }

  private withHi(hi: Bound | undefined): Range {
    return hi ? { hi } : { hi: undefined };
  }

  private compareLower(a: Bound | undefined, b: Bound | undefined): number {
    if (!a) return b ? -1 : 0;
    if (!b) return 1;
    const c = this.domain.compare(a.key, b.key);
    if (c !== 0) return c;
    return a.inclusive === b.inclusive ? 0 : a.inclusive ? -1 : 1;
  }

  private compareUpper(a: Bound | undefined, b: Bound | undefined): number {
    if (!a) return b ? 1 : 0;
    if (!b) return -1;
    const c = this.domain.compare(a.key, b.key);
    if (c !== 0) return c;
    return a.inclusive === b.inclusive ? 0 : a.inclusive ? 1 : -1;
  }

  private maxLower(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
    return this.compareLower(a, b) >= 0 ? a : b;
  }

  private minUpper(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
    return this.compareUpper(a, b) <= 0 ? a : b;
  }

  private maxUpper(a: Bound | undefined, b: Bound | undefined): Bound | undefined {
    return this.compareUpper(a, b) >= 0 ? a : b;
  }
}
