/**
 * Reading a design file (YAML, or JSON which is YAML too) into a checked {@link Design}.
 * Every problem is a {@link DesignError} naming the file, the line when known, and the key.
 */
import path from 'node:path';
import type { z } from 'zod';
import { checkAsyncPrimaries } from '../replication/primary.js';
import { DesignError } from './errors.js';
import { type FragmentSpec, type SiteSpec, designSchema } from './schema.js';
import { parseYamlWithLines, readInputFile } from '../util/yaml.js';

export interface Design {
  name: string;
  description?: string;
  source: string;
  /** The reports file, when the design names one (relative to `dir`). */
  reports?: string;
  /** Sites in the order the file lists them. */
  sites: SiteSpec[];
  fragments: FragmentSpec[];
  /** The design file, absolute; relative paths in the design resolve against its folder. */
  file: string;
  dir: string;
  /** Line of each fragment in the file, for messages. */
  fragmentLines: Map<string, number>;
}

export async function loadDesign(file: string): Promise<Design> {
  const { text, absolute } = await readInputFile(file, 'design file', designError);
  return parseDesign(text, absolute);
}

const designError = (problem: string, at: { file: string; line?: number }) => new DesignError(problem, at);

export function parseDesign(text: string, file: string): Design {
  const { doc, lineOf } = parseYamlWithLines(text, file, designError);
  const raw = doc.toJS() as unknown;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new DesignError('a design must be a mapping with name, source, sites and fragments', { file });
  }
  const parsed = designSchema.safeParse(raw);
  if (!parsed.success) throw fromZod(parsed.error, file, lineOf, raw as Record<string, unknown>);

  const data = parsed.data;
  const names = new Set<string>();
  const fragmentLines = new Map<string, number>();
  data.fragments.forEach((f, i) => {
    const line = lineOf(['fragments', i]);
    if (names.has(f.name.toLowerCase())) {
      throw new DesignError(`fragment name ${f.name} is used twice`, { file, fragment: f.name, ...(line ? { line } : {}) });
    }
    names.add(f.name.toLowerCase());
    if (line) fragmentLines.set(f.name, line);
  });
  const decision = Object.entries(data.sites).filter(([, s]) => s.decision);
  if (decision.length > 1) {
    throw new DesignError(
      `only one site can be the decision site, but ${decision.map(([n]) => n).join(' and ')} both say decision: true`,
      {
        file,
      },
    );
  }
  checkAsyncPrimaries(data.fragments, data.sites, { file, lineOf: (f) => fragmentLines.get(f) });
  const dir = path.dirname(file);
  return {
    name: data.name,
    ...(data.description ? { description: data.description } : {}),
    source: data.source,
    ...(data.reports ? { reports: data.reports } : {}),
    sites: Object.entries(data.sites).map(([name, s]) => ({ ...s, name })),
    fragments: data.fragments,
    file,
    dir,
    fragmentLines,
  };
}

/** The decision site: the one marked `decision: true`, else the first site listed. */
export function decisionSite(design: Design): SiteSpec {
  return design.sites.find((s) => s.decision) ?? design.sites[0]!;
}

function fromZod(
  error: z.ZodError,
  file: string,
  lineOf: (p: PropertyKey[]) => number | undefined,
  raw: Record<string, unknown>,
): DesignError {
  const issue = error.issues[0]!;
  const where = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  let fragment: string | undefined;
  if (issue.path[0] === 'fragments' && typeof issue.path[1] === 'number') {
    const f = (raw.fragments as Array<Record<string, unknown>> | undefined)?.[issue.path[1]];
    if (f && typeof f.name === 'string') fragment = f.name;
  }
  const site = issue.path[0] === 'sites' && typeof issue.path[1] === 'string' ? issue.path[1] : undefined;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}`;
  if (issue.code === 'invalid_type' && /received undefined/.test(issue.message)) message = 'is required';
  const line = lineOf(issue.path);
  return new DesignError(`${where ? `${where}: ` : ''}${message}`, {
    file,
    ...(line ? { line } : {}),
    ...(fragment ? { fragment } : {}),
    ...(site ? { site } : {}),
  });
}
