/**
 * The validation trace as text, in the spirit of the DDB-Helper paper's Table VII: per relation,
 * its fragments and where they live, the reconstruction expression, then each aspect's checks.
 */
import pc from 'picocolors';
import type { Check, RelationReport, Rule, ValidationReport } from './report.js';

const ASPECTS: Array<[Rule, string]> = [
  ['reconstruction', 'Reconstruction aspect'],
  ['completeness', 'Completeness aspect'],
  ['disjointness', 'Disjointness aspect'],
];

function mark(c: Check): string {
  if (c.ok) return pc.green('✓');
  return c.severity === 'error' ? pc.red('✗') : pc.yellow('!');
}

function relationTrace(r: RelationReport, out: string[]): void {
  const errors = r.checks.filter((c) => !c.ok && c.severity === 'error').length;
  const warnings = r.checks.filter((c) => !c.ok && c.severity === 'warning').length;
  const verdict = errors ? pc.red('invalid') : warnings ? pc.yellow('valid, with warnings') : pc.green('valid');
  out.push(
    `${pc.bold(`Fragmentation of ${r.relation}`)} — ${r.fragments.length} fragment${r.fragments.length === 1 ? '' : 's'} — ${verdict}`,
  );
  const width = Math.max(0, ...r.fragments.map((f) => f.name.length));
  for (const f of r.fragments) {
    const replicas = f.sites.length > 1 ? ` (${f.replication ?? 'sync'} replicas)` : '';
    out.push(`  ${f.name.padEnd(width)}  = ${f.definition}  ${pc.dim(`@ ${f.sites.join(', ')}${replicas}`)}`);
  }
  out.push(`  ${pc.cyan(r.reconstruction)}`);
  for (const [rule, title] of ASPECTS) {
    const checks = r.checks.filter((c) => c.rule === rule);
    if (checks.length === 0) continue;
    out.push(`  ${title}:`);
    for (const c of checks) out.push(`    ${mark(c)} ${c.basis === 'data' ? pc.dim('[data] ') : ''}${c.message}`);
  }
  for (const n of r.notes) out.push(`  ${pc.dim(`note: ${n}`)}`);
}

export function formatReport(report: ValidationReport, header?: string): string {
  const out: string[] = [];
  if (header) out.push(header, '');
  for (const r of report.relations) {
    relationTrace(r, out);
    out.push('');
  }
  const fragments = report.relations.reduce((n, r) => n + r.fragments.length, 0);
  const summary = `${report.relations.length} relations, ${fragments} fragments: ${report.errors} error${report.errors === 1 ? '' : 's'}, ${report.warnings} warning${report.warnings === 1 ? '' : 's'}`;
  out.push(report.valid ? pc.green(pc.bold(`VALID — ${summary}`)) : pc.red(pc.bold(`INVALID — ${summary}`)));
  return out.join('\n');
}
