/**
 * Re-runs every known difference (known-differences.ts) both ways and prints what each side
 * answers — not part of `vitest run` (the file is not a *.test.ts). Run it after a change in
 * src/query to see which are fixed:
 *
 *   npx tsx test/query/known-differences.check.ts
 */
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { KNOWN_DIFFERENCES, type KnownDifference } from './known-differences.js';
import { type Deployment, type Example, closeDeployment, deployVariant, loadSource, mixedDesign } from './support/deployments.js';
import { runOnSource } from './support/differential.js';
import { differenceOf, normaliseRows } from './support/compare.js';
import type { SourceDatabase } from '../../src/engines/source.js';

/** The example's mixed design with the fragments of the relations `snippet` names replaced by it. */
function designWith(example: Example, snippet: string): string {
  const design = parseYaml(mixedDesign(example)) as { fragments: Array<{ of: string }> };
  const replacement = parseYaml(snippet) as Array<{ of: string }>;
  const replaced = new Set(replacement.map((f) => f.of.toLowerCase()));
  design.fragments = [...design.fragments.filter((f) => !replaced.has(f.of.toLowerCase())), ...replacement];
  return toYaml(design);
}

async function show(k: KnownDifference, d: Deployment, source: SourceDatabase): Promise<void> {
  const side = async (run: () => Promise<{ columns: string[]; rows: unknown[][] }>) => {
    try {
      const r = await run();
      return { ok: true as const, columns: r.columns, rows: normaliseRows(r.rows) };
    } catch (e) {
      return { ok: false as const, error: (e as Error).message.split('\n')[0]! };
    }
  };
  const expected = await side(() => runOnSource(source, k.sql));
  const actual = await side(() => d.db.query(k.sql));
  const same =
    expected.ok && actual.ok
      ? !differenceOf(expected.rows, actual.rows, false) && JSON.stringify(expected.columns) === JSON.stringify(actual.columns)
      : !expected.ok && !actual.ok;
  const text = (x: typeof expected) =>
    x.ok ? `${JSON.stringify(x.columns)} ${JSON.stringify(x.rows.slice(0, 4))}` : `ERROR ${x.error}`;
  console.log(
    `${same ? 'FIXED?  ' : 'differs '} ${k.id} (${k.kind})\n  ${k.sql}\n  source: ${text(expected)}\n  ddbkit: ${text(actual)}\n`,
  );
}

for (const example of ['library', 'ecommerce'] as const) {
  const source = await loadSource(example);
  const shipped = await deployVariant(example, 'shipped', source);
  try {
    for (const k of KNOWN_DIFFERENCES.filter((x) => x.example === example)) {
      if (!k.design) {
        await show(k, shipped, source);
        continue;
      }
      const special = await deployVariant(example, 'mixed', source, designWith(example, k.design));
      try {
        await show(k, special, source);
      } finally {
        await closeDeployment(special);
      }
    }
  } finally {
    await closeDeployment(shipped);
    await source.close();
  }
}
