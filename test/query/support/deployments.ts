/**
 * Deployments for the differential suite: each example's source loaded once into PGlite, each
 * design (the shipped one, and a harder "mixed" one written here) deployed with `deploy()` onto
 * embedded sites (PGlite, SQLite, DuckDB) in a temporary folder, then opened once with
 * `openDistributed` and reused by every query.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deploy } from '../../../src/deploy/deploy.js';
import { type Design, loadDesign } from '../../../src/design/load.js';
import { type SourceDatabase, openSource } from '../../../src/engines/source.js';
import { type DistributedDatabase, openDistributed } from '../../../src/query/distributed.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const examples = path.join(root, 'examples');

export type Example = 'ecommerce' | 'library';

export interface Deployment {
  example: Example;
  /** 'shipped' (examples/<x>/design.yaml) or 'mixed' (written by mixedDesign). */
  variant: 'shipped' | 'mixed';
  designFile: string;
  design: Design;
  db: DistributedDatabase;
  dir: string;
}

/**
 * A harder design per example, over the same source:
 *
 * e-commerce —
 *  - REGION replicated on two non-decision sites of different engines (SQLite, DuckDB);
 *  - CUSTOMER split on region AND on a key range (NBO in two pieces), region dropped (implied);
 *  - ORDERS split on order_date with an EMPTY fragment (no order predates 2023) plus region;
 *    ORDER_ITEM and PAYMENT derived from it (so derived fragments are empty too), PAYMENT's
 *    fragments NOT co-located with their parent ORDERS fragments;
 *  - PRODUCT vertical (catalogue replicated on PGlite + DuckDB) and its stock part horizontal on
 *    category (category only in the catalogue part).
 * library —
 *  - BOOK split on year with an EMPTY `year IS NULL` fragment (year is nullable, no row has it
 *    NULL) and an EMPTY future-year fragment; AUTHOR and LOAN derived from it;
 *  - STUDENT vertical + horizontal (the administrative part split on a key range), the lending
 *    part replicated on SQLite + DuckDB only (not on the decision site). (Splitting the
 *    administrative part on Institution with the value implied in one piece and stored in the
 *    other is a known difference: see known-differences.ts.)
 *  - EMPLOYEE vertical, the address/status part horizontal on the nullable status.
 */
export function mixedDesign(example: Example): string {
  const source = path.join(examples, example, `${example}.sql`);
  if (example === 'ecommerce') {
    return `name: ecommerce-mixed
source: ${JSON.stringify(source)}
sites:
  NAIROBI: { engine: pglite, url: "file:./sites/nairobi", decision: true }
  MOMBASA: { engine: sqlite, url: "file:./sites/mombasa.db" }
  KISUMU:  { engine: duckdb, url: "file:./sites/kisumu.duckdb" }
fragments:
  - { name: REGION_REP, of: REGION, sites: [MOMBASA, KISUMU], replication: async }
  - name: CUSTOMER_NBO_LOW
    of: CUSTOMER
    where: "region = 'NBO' AND customer_id <= 2500"
    columns: [customer_id, name, email, city, created_at]
    sites: [NAIROBI]
  - name: CUSTOMER_NBO_HIGH
    of: CUSTOMER
    where: "region = 'NBO' AND customer_id > 2500"
    columns: [customer_id, name, email, city, created_at]
    sites: [KISUMU]
  - name: CUSTOMER_OTHER
    of: CUSTOMER
    where: "region IN ('MSA', 'KSM')"
    sites: [MOMBASA]
  - name: ORDERS_OLD
    of: ORDERS
    where: "order_date < DATE '2023-01-01'"
    sites: [MOMBASA]
  - name: ORDERS_NBO
    of: ORDERS
    where: "order_date >= DATE '2023-01-01' AND region = 'NBO'"
    columns: [order_id, customer_id, order_date, ship_date, status]
    sites: [NAIROBI]
  - name: ORDERS_REST
    of: ORDERS
    where: "order_date >= DATE '2023-01-01' AND region <> 'NBO'"
    sites: [KISUMU]
  - { name: ORDER_ITEM_OLD, of: ORDER_ITEM, follows: ORDERS_OLD, sites: [MOMBASA] }
  - { name: ORDER_ITEM_NBO, of: ORDER_ITEM, follows: ORDERS_NBO, sites: [NAIROBI] }
  - { name: ORDER_ITEM_REST, of: ORDER_ITEM, follows: ORDERS_REST, sites: [KISUMU] }
  - { name: PAYMENT_OLD, of: PAYMENT, follows: ORDERS_OLD, sites: [MOMBASA] }
  - { name: PAYMENT_NBO, of: PAYMENT, follows: ORDERS_NBO, sites: [KISUMU] }
  - { name: PAYMENT_REST, of: PAYMENT, follows: ORDERS_REST, sites: [NAIROBI] }
  - name: PRODUCT_CATALOG
    of: PRODUCT
    columns: [product_id, name, category, price]
    sites: [NAIROBI, KISUMU]
    replication: sync
  - name: PRODUCT_STOCK_ELEC
    of: PRODUCT
    where: "category = 'electronics'"
    columns: [product_id, stock, weight_kg, description]
    sites: [MOMBASA]
  - name: PRODUCT_STOCK_OTHER
    of: PRODUCT
    where: "category <> 'electronics'"
    columns: [product_id, stock, weight_kg, description]
    sites: [KISUMU]
`;
  }
  return `name: library-mixed
source: ${JSON.stringify(source)}
sites:
  ENIT:  { engine: pglite, url: "file:./sites/enit", decision: true }
  FST:   { engine: sqlite, url: "file:./sites/fst.db" }
  FSEGT: { engine: duckdb, url: "file:./sites/fsegt.duckdb" }
fragments:
  - name: EMPLOYEE_ID
    of: EMPLOYEE
    columns: [NSS, FName, LName, Assignment]
    sites: [FSEGT]
  - name: EMPLOYEE_LIB
    of: EMPLOYEE
    where: "Status = 'librarian'"
    columns: [NSS, Address, Status]
    sites: [FST]
  - name: EMPLOYEE_OTHER
    of: EMPLOYEE
    where: "Status <> 'librarian' OR Status IS NULL"
    columns: [NSS, Address, Status]
    sites: [ENIT]
  - name: STUDENT_BIB
    of: STUDENT
    columns: [NCE, FName, LName, nb_borrow]
    sites: [FST, FSEGT]
    replication: sync
  - name: STUDENT_ADMIN_LOW
    of: STUDENT
    where: "NCE <= 20231500"
    columns: [NCE, Address, Class, Institution]
    sites: [ENIT]
  - name: STUDENT_ADMIN_HIGH
    of: STUDENT
    where: "NCE > 20231500"
    columns: [NCE, Address, Class, Institution]
    sites: [FSEGT]
  - name: BOOK_OLD
    of: BOOK
    where: "Year < 2000"
    sites: [ENIT]
  - name: BOOK_NEW
    of: BOOK
    where: "Year >= 2000 AND Year <= 2030"
    sites: [FST]
  - name: BOOK_FUTURE
    of: BOOK
    where: "Year > 2030"
    sites: [FSEGT]
  - name: BOOK_NOYEAR
    of: BOOK
    where: "Year IS NULL"
    sites: [FSEGT]
  - { name: AUTHOR_OLD, of: AUTHOR, follows: BOOK_OLD, sites: [ENIT] }
  - { name: AUTHOR_NEW, of: AUTHOR, follows: BOOK_NEW, sites: [FSEGT] }
  - { name: AUTHOR_FUTURE, of: AUTHOR, follows: BOOK_FUTURE, sites: [FSEGT] }
  - { name: AUTHOR_NOYEAR, of: AUTHOR, follows: BOOK_NOYEAR, sites: [FST] }
  - { name: LOAN_OLD, of: LOAN, follows: BOOK_OLD, sites: [ENIT] }
  - { name: LOAN_NEW, of: LOAN, follows: BOOK_NEW, sites: [FST] }
  - { name: LOAN_FUTURE, of: LOAN, follows: BOOK_FUTURE, sites: [FSEGT] }
  - { name: LOAN_NOYEAR, of: LOAN, follows: BOOK_NOYEAR, sites: [FSEGT] }
`;
}

/**
 * Writes the catalog cache `openDistributed` looks for beside the sites, so opening does not load
 * the .sql source a second time (~3–10 s). If its format changes, ddbkit just reloads the source.
 */
function writeCatalogCache(design: Design, sitesDir: string, source: SourceDatabase): void {
  const sourceFile = path.resolve(design.dir, design.source);
  const file = path.join(sitesDir, '.ddbkit', `${design.name}.catalog.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    JSON.stringify({ source: design.source, sourceMtime: statSync(sourceFile).mtimeMs, catalog: source.catalog }),
  );
}

export async function loadSource(example: Example): Promise<SourceDatabase> {
  return openSource(`./${example}.sql`, path.join(examples, example));
}

/** Deploys one design from an already open source into a fresh temporary folder and opens it. */
export async function deployVariant(
  example: Example,
  variant: 'shipped' | 'mixed',
  source: SourceDatabase,
  /** For 'mixed': this design text instead of mixedDesign(example). */
  designText?: string,
): Promise<Deployment> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ddbkit-diff-${example}-${variant}-`));
  let designFile = path.join(examples, example, 'design.yaml');
  if (variant === 'mixed') {
    designFile = path.join(dir, 'design.yaml');
    writeFileSync(designFile, designText ?? mixedDesign(example));
  }
  try {
    const design = await loadDesign(designFile);
    await deploy(design, source, { sitesDir: dir, verify: false });
    writeCatalogCache(design, dir, source);
    const db = await openDistributed(designFile, { sitesDir: dir });
    return { example, variant, designFile, design, db, dir };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

export async function closeDeployment(d: Deployment | undefined): Promise<void> {
  if (!d) return;
  await d.db.close().catch(() => {});
  rmSync(d.dir, { recursive: true, force: true });
}
