/**
 * Named reports: global SQL kept beside a design (`reports: ./reports.yaml`), with `:name`
 * parameters filled in as SQL literals.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { DesignError, UserError } from '../design/errors.js';
import type { Design } from '../design/load.js';

const reportsSchema = z.object({
  reports: z.record(
    z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'report names are lower-case words joined by -'),
    z.object({ title: z.string(), sql: z.string().min(1), params: z.array(z.string()).optional() }).strict(),
  ),
});

export interface Report {
  name: string;
  title: string;
  sql: string;
  params: string[];
}

export async function loadReports(design: Design): Promise<Report[]> {
  if (!design.reports) return [];
  const file = path.resolve(design.dir, design.reports);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new DesignError(`reports file ${file} cannot be read`, { file: design.file });
  }
  const parsed = reportsSchema.safeParse(parseYaml(text));
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new DesignError(`${issue.path.join('.')}: ${issue.message}`, { file });
  }
  return Object.entries(parsed.data.reports).map(([name, r]) => ({ name, title: r.title, sql: r.sql, params: r.params ?? [] }));
}

/** Substitutes `:name` (not `::type`) by the parameter's value as a number or a quoted string. */
export function bindParameters(report: Report, values: Record<string, string>): string {
  const missing = report.params.filter((p) => !(p in values));
  if (missing.length) throw new UserError(`report ${report.name} needs ${missing.map((p) => `--param ${p}=VALUE`).join(' ')}`);
  return report.sql.replace(/(?<!:):([A-Za-z_][A-Za-z0-9_]*)/g, (whole, name: string) => {
    if (!(name in values)) return whole;
    const v = values[name]!;
    return /^-?\d+(\.\d+)?$/.test(v) ? v : `'${v.replace(/'/g, "''")}'`;
  });
}
