/**
 * The validation report: what `ddbkit validate --json` prints (a public contract) and what the
 * text trace is rendered from.
 */
import type { JsonValue } from '../predicate/index.js';

export type Rule = 'reconstruction' | 'completeness' | 'disjointness';

export interface Check {
  rule: Rule;
  ok: boolean;
  /** How grave a failure of this check is: errors make the design invalid, warnings do not. */
  severity: 'error' | 'warning';
  /** The site the check is about, when it concerns fragments of a single site. */
  site?: string;
  fragments?: string[];
  message: string;
  columns?: string[];
  /** A row that shows the failure: numbers as numbers, NULL as null, dates as ISO strings. */
  counterexample?: Record<string, JsonValue>;
  /** `static`: proven on the predicates; `data`: counted on the source's rows. */
  basis: 'static' | 'data';
  /** With --data: counts and sample keys. */
  rows?: { checked: number; failing: number; sampleKeys: Array<Record<string, JsonValue>> };
}

export interface FragmentSummary {
  name: string;
  /** The fragment in relational algebra, e.g. `π nss, fname (σ assignment = 'ENIT' (employee))`. */
  definition: string;
  sites: string[];
  replication?: 'sync' | 'async';
  columns: string[];
  /** Columns not stored but fixed by the predicate, restored as constants on reconstruction. */
  implied: Record<string, JsonValue>;
}

export interface RelationReport {
  relation: string;
  /** The reconstruction expression in relational algebra. */
  reconstruction: string;
  fragments: FragmentSummary[];
  checks: Check[];
  notes: string[];
}

export interface ValidationReport {
  valid: boolean;
  design: string;
  file: string;
  errors: number;
  warnings: number;
  relations: RelationReport[];
}

export function summarize(design: string, file: string, relations: RelationReport[]): ValidationReport {
  const failed = relations.flatMap((r) => r.checks.filter((c) => !c.ok));
  const errors = failed.filter((c) => c.severity === 'error').length;
  return { valid: errors === 0, design, file, errors, warnings: failed.length - errors, relations };
}
