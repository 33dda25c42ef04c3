/**
 * The e-commerce example (examples/ecommerce/ecommerce.sql) scaled: the very same script (schema,
 * md5-based deterministic data, invariants) with its row counts multiplied, generated server-side
 * with generate_series. Scale 1.0 gives ≈1,020,000 order_item rows (17× the example).
 *
 * The example's counts are replaced textually; each replacement must match exactly once, so a
 * change to the example fails here loudly instead of silently producing the unscaled data.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const EXAMPLE = fileURLToPath(new URL('../examples/ecommerce/ecommerce.sql', import.meta.url));
/** Scale 1.0 = 17× the example: 340,000 orders with 1–5 lines each ≈ 1.02 M order lines. */
const MULTIPLIER_AT_SCALE_1 = 17;

export interface ScaledCounts {
  customers: number;
  products: number;
  orders: number;
}

export function scaledCounts(scale: number): ScaledCounts {
  const m = scale * MULTIPLIER_AT_SCALE_1;
  return {
    customers: Math.max(10, Math.round(5000 * m)),
    products: Math.max(10, Math.round(500 * m)),
    orders: Math.max(10, Math.round(20000 * m)),
  };
}

function replaceOnce(sql: string, from: string, to: string): string {
  const parts = sql.split(from);
  if (parts.length !== 2) throw new Error(`ecommerce.sql changed: expected "${from}" exactly once, found ${parts.length - 1}`);
  return parts.join(to);
}

/** The example script with `counts` instead of 5,000 customers, 500 products and 20,000 orders, then ANALYZE. */
export function scaledEcommerceSql(scale: number): { sql: string; counts: ScaledCounts } {
  const counts = scaledCounts(scale);
  let sql = readFileSync(EXAMPLE, 'utf8');
  sql = replaceOnce(sql, 'generate_series(1, 5000)', `generate_series(1, ${counts.customers})`);
  sql = replaceOnce(sql, '% 5000)::int', `% ${counts.customers})::int`);
  sql = replaceOnce(sql, 'generate_series(1, 500)', `generate_series(1, ${counts.products})`);
  sql = replaceOnce(sql, '% 500)::int', `% ${counts.products})::int`);
  sql = replaceOnce(sql, 'generate_series(1, 20000)', `generate_series(1, ${counts.orders})`);
  return { sql: `${sql}\nANALYZE;\n`, counts };
}
