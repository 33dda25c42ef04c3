/**
 * The design file's schema: the public contract of ddbkit. Unknown keys are refused so that a
 * typo (`colums:`) is an error rather than a silently ignored setting.
 */
import { z } from 'zod';

export const ENGINES = ['postgres', 'mariadb', 'mysql', 'sqlite', 'duckdb', 'pglite'] as const;
export type Engine = (typeof ENGINES)[number];

/** Engines whose sites live in a file (or in memory) and are reached through `file:PATH` / `memory:`. */
export const FILE_ENGINES: ReadonlySet<Engine> = new Set(['sqlite', 'duckdb', 'pglite']);

const URL_SCHEMES: Record<Engine, RegExp> = {
  postgres: /^postgres(ql)?:\/\//,
  mariadb: /^(mysql|mariadb):\/\//,
  mysql: /^(mysql|mariadb):\/\//,
  sqlite: /^(file:.+|memory:)$/,
  duckdb: /^(file:.+|memory:)$/,
  pglite: /^(file:.+|memory:)$/,
};

const name = z
  .string()
  .min(1)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an SQL identifier: letters, digits and _, not starting with a digit');

export const siteSchema = z
  .object({
    engine: z.enum(ENGINES, { error: () => `unknown engine; expected one of ${ENGINES.join(', ')}` }),
    url: z.string().min(1),
    decision: z.boolean().optional(),
    description: z.string().optional(),
  })
  .strict()
  .superRefine((site, ctx) => {
    if (!URL_SCHEMES[site.engine].test(site.url)) {
      const expected = FILE_ENGINES.has(site.engine)
        ? 'file:PATH or memory:'
        : site.engine === 'postgres'
          ? 'postgres://user@host:port/database'
          : 'mysql://user@host:port/database';
      ctx.addIssue({ code: 'custom', path: ['url'], message: `a ${site.engine} site's url must look like ${expected}` });
    }
  });

export const fragmentSchema = z
  .object({
    name,
    of: z.string().min(1),
    where: z.string().min(1).optional(),
    columns: z.array(z.string().min(1)).min(1).optional(),
    follows: z.string().min(1).optional(),
    /** With `follows`: the foreign-key columns to follow, when the child has several keys to the parent. */
    via: z.array(z.string().min(1)).min(1).optional(),
    sites: z.array(z.string().min(1)).min(1),
    replication: z.enum(['sync', 'async']).optional(),
    overlap: z.enum(['allowed', 'forbidden']).optional(),
    description: z.string().optional(),
  })
  .strict();

export const designSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().optional(),
    source: z.string().min(1),
    sites: z.record(name, siteSchema).refine((s) => Object.keys(s).length > 0, 'at least one site is needed'),
    fragments: z.array(fragmentSchema).min(1),
    /** A YAML file of named reports (global SQL), relative to the design file. */
    reports: z.string().min(1).optional(),
  })
  .strict();

export type SiteSpec = z.infer<typeof siteSchema> & { name: string };
export type FragmentSpec = z.infer<typeof fragmentSchema>;
