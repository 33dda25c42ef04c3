/**
 * `npm run bench:validate`: static validation of a synthetic design with 100 relations and
 * 1,000 fragments (hybrid horizontal × vertical fragments, and derived fragments two levels deep).
 * Printed as ratios against a baseline measured in the same run: loading the design file
 * (YAML parse + schema check), which every command pays anyway.
 */
import { stringify } from 'yaml';
import type { Catalog, ColumnType, Relation } from '../src/catalog/types.js';
import { parseDesign } from '../src/design/load.js';
import { resolveDesign } from '../src/design/resolve.js';
import { validateDesign } from '../src/validate/static.js';

const INT: ColumnType = { family: 'integer', sqlType: 'integer', bits: 32 };
const TEXT: ColumnType = { family: 'text', sqlType: 'text' };
const MONEY: ColumnType = { family: 'decimal', sqlType: 'numeric(12,2)', precision: 12, scale: 2 };
const DATE: ColumnType = { family: 'date', sqlType: 'date' };
const REGIONS = ['R0', 'R1', 'R2', 'R3', 'R4'];

function buildCase(parents: number) {
  const relations: Relation[] = [];
  const fragments: Array<Record<string, unknown>> = [];
  for (let i = 0; i < parents; i++) {
    const parent = `p${i}`;
    relations.push({
      name: parent,
      columns: [
        { name: 'id', type: INT, nullable: false },
        { name: 'region', type: TEXT, nullable: false },
        { name: 'name', type: TEXT, nullable: true },
        { name: 'amount', type: MONEY, nullable: true },
        { name: 'created', type: DATE, nullable: true },
      ],
      primaryKey: ['id'],
      foreignKeys: [],
      checks: [{ name: `${parent}_region`, expression: `region IN (${REGIONS.map((r) => `'${r}'`).join(', ')})` }],
    });
    const child = `c${i}`;
    relations.push({
      name: child,
      columns: [
        { name: 'id', type: INT, nullable: false },
        { name: 'parent_id', type: INT, nullable: false },
        { name: 'qty', type: INT, nullable: false },
        { name: 'note', type: TEXT, nullable: true },
      ],
      primaryKey: ['id'],
      foreignKeys: [{ name: `${child}_fk`, columns: ['parent_id'], references: { relation: parent, columns: ['id'] } }],
      checks: [{ name: `${child}_qty`, expression: 'qty > 0' }],
    });
    for (const [k, region] of REGIONS.entries()) {
      const site = `S${k}`;
      fragments.push({
        name: `${parent}_${region}_A`,
        of: parent,
        where: `region = '${region}'`,
        columns: ['id', 'name', 'amount'],
        sites: [site],
      });
      fragments.push({
        name: `${parent}_${region}_B`,
        of: parent,
        where: `region = '${region}'`,
        columns: ['id', 'created'],
        sites: [site],
      });
      fragments.push({
        name: `${child}_${region}_small`,
        of: child,
        follows: `${parent}_${region}_A`,
        where: 'qty < 10',
        sites: [site],
      });
      fragments.push({
        name: `${child}_${region}_big`,
        of: child,
        follows: `${parent}_${region}_A`,
        where: 'qty >= 10',
        sites: [site],
      });
    }
  }
  const catalog: Catalog = { relations };
  const sites = Object.fromEntries(REGIONS.map((_, k) => [`S${k}`, { engine: 'sqlite', url: `file:./s${k}.db` }]));
  const yaml = stringify({ name: 'bench', source: './bench.sql', sites, fragments });
  return { catalog, yaml, fragmentCount: fragments.length };
}

function time<T>(fn: () => T, repeat: number): { ms: number; result: T } {
  let result = fn(); // warm-up
  const start = performance.now();
  for (let i = 0; i < repeat; i++) result = fn();
  return { ms: (performance.now() - start) / repeat, result };
}

const { catalog, yaml, fragmentCount } = buildCase(50);
const load = time(() => parseDesign(yaml, '/bench/design.yaml'), 5);
const resolve = time(() => resolveDesign(load.result, catalog), 5);
const validate = time(() => validateDesign(resolve.result), 3);

const report = validate.result;
const problems = report.errors + report.warnings;
console.log(`bench:validate — ${catalog.relations.length} relations, ${fragmentCount} fragments (hybrid + derived)`);
console.log(`  baseline: load design file (YAML + schema)   ${load.ms.toFixed(1)} ms`);
console.log(
  `  resolve (parse + type predicates)            ${resolve.ms.toFixed(1)} ms   ${(resolve.ms / load.ms).toFixed(2)}× baseline`,
);
console.log(
  `  static validation (all three rules)          ${validate.ms.toFixed(1)} ms   ${(validate.ms / load.ms).toFixed(2)}× baseline`,
);
console.log(`  total                                        ${(load.ms + resolve.ms + validate.ms).toFixed(1)} ms`);
console.log(`  result: ${report.valid ? 'valid' : 'INVALID'} (${problems} problems; expected valid with 0)`);
if (!report.valid || problems > 0) process.exitCode = 1;
