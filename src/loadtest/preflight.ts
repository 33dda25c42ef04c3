/**
 * What can be known before a run: a transaction that writes a fragment replicated synchronously on
 * two or more sites without two-phase commit (SQLite, DuckDB, PGlite) can never commit — at most one
 * such site may take part in a transaction. Such a run would only fail users × ops times, so it is
 * refused at once, with what to do instead.
 */
import type { ResolvedDesign, ResolvedFragment } from '../design/resolve.js';
import type { Engine } from '../design/schema.js';
import type { Workload } from './workload.js';

/** Engines whose connectors can PREPARE (src/engines/*: capabilities.twoPhaseCommit). */
const TWO_PHASE: ReadonlySet<Engine> = new Set(['postgres', 'mariadb', 'mysql']);

/** The columns an UPDATE sets (top-level `col = …` of its SET list), lower case; undefined when unreadable. */
export function updatedColumns(sql: string): string[] | undefined {
  const m = /^\s*update\s+\S+(?:\s+(?:as\s+)?\w+)?\s+set\s+([\s\S]*?)(?:\s+where\s+[\s\S]*|\s+returning\s+[\s\S]*)?$/i.exec(sql);
  if (!m) return undefined;
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  let quote: string | undefined;
  for (const ch of m[1]!) {
    if (quote) {
      if (ch === quote) quote = undefined;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
      continue;
    }
    current += ch;
  }
  parts.push(current);
  const cols = parts.map((p) => /^\s*"?([A-Za-z_][A-Za-z0-9_]*)"?\s*=/.exec(p)?.[1]?.toLowerCase());
  return cols.every((c) => c !== undefined) ? (cols as string[]) : undefined;
}

function writes(sql: string): { relation: string; columns?: string[] } | undefined {
  const m = /^\s*(?:insert\s+into|delete\s+from|update)\s+("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_]*)/i.exec(sql);
  if (!m) return undefined;
  const relation = m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!;
  if (/^\s*update/i.test(sql)) {
    const columns = updatedColumns(sql);
    return columns ? { relation, columns } : { relation };
  }
  return { relation };
}

/** Problems that make transactions of the workload certain to fail on this design (empty: none found). */
export function preflight(resolved: ResolvedDesign, workload: Workload): string[] {
  const problems: string[] = [];
  for (const t of workload.transactions) {
    for (const step of t.steps) {
      const w = writes(step.sql);
      if (!w) continue;
      const rel = resolved.relations.find((r) => r.relation.name.toLowerCase() === w.relation.toLowerCase());
      if (!rel) continue;
      const hit = (f: ResolvedFragment) =>
        f.where === undefined &&
        f.parent === undefined &&
        f.replication === 'sync' &&
        (w.columns === undefined || f.columns.some((c) => w.columns!.includes(c.toLowerCase())));
      for (const f of rel.fragments.filter(hit)) {
        const without = f.sites.filter((s) => !TWO_PHASE.has(s.engine));
        if (without.length < 2) continue;
        problems.push(
          `${workload.file}${step.line ? `:${step.line}` : ''}: transaction ${t.name} writes ${rel.relation.name}, hence every replica of ${f.name} — ${without.map((s) => `${s.name} (${s.engine})`).join(', ')} — and none of these has two-phase commit: at most one such site can take part in a transaction, so ${t.name} can never commit on ${resolved.design.name}. Run the workload on a design whose replicas are on PostgreSQL or MariaDB/MySQL (all but one at most), such as the example's design-servers.yaml`,
        );
        break;
      }
      if (problems.length > 0 && problems[problems.length - 1]!.includes(`transaction ${t.name} `)) break;
    }
  }
  return problems;
}
