/**
 * Validating a design file end to end: load it, open and introspect its source, bind the design to
 * the catalog, prove the rules on the predicates, and (with `data`) count them on the rows.
 */
import { loadDesign, type Design } from '../design/load.js';
import { type ResolvedDesign, resolveDesign } from '../design/resolve.js';
import { type SourceDatabase, openSource } from '../engines/source.js';
import { checkRelationData } from './data.js';
import { type ValidationReport, summarize } from './report.js';
import { validateDesign } from './static.js';

export interface ValidateOptions {
  /** Also check the rules on the source's rows. */
  data?: boolean;
}

export interface ValidationRun {
  design: Design;
  resolved: ResolvedDesign;
  report: ValidationReport;
  source: string;
}

export async function validateDesignFile(file: string, options: ValidateOptions = {}): Promise<ValidationRun> {
  const design = await loadDesign(file);
  const source = await openSource(design.source, design.dir);
  try {
    return await validateWithSource(design, source, options);
  } finally {
    await source.close();
  }
}

export async function validateWithSource(
  design: Design,
  source: SourceDatabase,
  options: ValidateOptions = {},
): Promise<ValidationRun> {
  const resolved = resolveDesign(design, source.catalog);
  let report = validateDesign(resolved);
  if (options.data) {
    const relations = [];
    for (const [i, rr] of resolved.relations.entries()) {
      const relationReport = report.relations[i]!;
      const implied = new Map(relationReport.fragments.map((f) => [f.name, new Set(Object.keys(f.implied))]));
      const checks = await checkRelationData(rr, source.runner, (f) => implied.get(f.name) ?? new Set());
      relations.push({ ...relationReport, checks: [...relationReport.checks, ...checks] });
    }
    report = summarize(report.design, report.file, relations);
  }
  return { design, resolved, report, source: source.description };
}
