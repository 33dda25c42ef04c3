/**
 * Hand-written global queries for the differential suite. `ordered: true` only where the ORDER BY
 * fixes the order completely (it covers a unique key of the result); every other answer is
 * compared as a multiset. Each runs on both deployments of its example (shipped and mixed design)
 * unless `variants` says otherwise.
 */
import type { Example } from './support/deployments.js';

export interface HandQuery {
  name: string;
  example: Example;
  sql: string;
  ordered?: boolean;
  variants?: Array<'shipped' | 'mixed'>;
}

const e = (name: string, sql: string, ordered = false): HandQuery => ({ name, example: 'ecommerce', sql, ordered });
const l = (name: string, sql: string, ordered = false): HandQuery => ({ name, example: 'library', sql, ordered });

export const HAND_QUERIES: HandQuery[] = [
  // ── The seeds' reports (examples/ecommerce/reports.yaml) ──────────────────────────────
  e(
    'report: sales by payment method per region',
    `SELECT o.region, p.method, count(*) AS payments, sum(p.amount) AS total
       FROM payment p JOIN orders o ON o.order_id = p.order_id
      GROUP BY o.region, p.method ORDER BY o.region, total DESC`,
  ),
  e(
    'report: customer order summary',
    `SELECT c.customer_id, c.name, c.region, count(DISTINCT o.order_id) AS orders,
            coalesce(sum(oi.quantity), 0) AS items, coalesce(sum(oi.quantity * oi.unit_price), 0) AS spent
       FROM customer c
       LEFT JOIN orders o ON o.customer_id = c.customer_id
       LEFT JOIN order_item oi ON oi.order_id = o.order_id
      GROUP BY c.customer_id, c.name, c.region
      ORDER BY spent DESC, c.customer_id LIMIT 20`,
    true,
  ),
  e(
    'report: customers with their cities',
    `SELECT c.customer_id, c.name, c.city, r.name AS region
       FROM customer c JOIN region r ON r.region_code = c.region ORDER BY c.customer_id`,
    true,
  ),
  e(
    'report: order totals with shipping date',
    `SELECT o.order_id, o.order_date, o.ship_date, o.status, sum(oi.quantity * oi.unit_price) AS total
       FROM orders o JOIN order_item oi ON oi.order_id = o.order_id
      GROUP BY o.order_id, o.order_date, o.ship_date, o.status ORDER BY o.order_id`,
    true,
  ),
  e(
    'report: products bought by a given customer',
    `SELECT p.product_id, p.name, p.category, sum(oi.quantity) AS quantity
       FROM orders o JOIN order_item oi ON oi.order_id = o.order_id JOIN product p ON p.product_id = oi.product_id
      WHERE o.customer_id = 42
      GROUP BY p.product_id, p.name, p.category ORDER BY quantity DESC, p.product_id`,
    true,
  ),
  e(
    'report: products with their buyers',
    `SELECT p.product_id, p.name, count(DISTINCT o.customer_id) AS buyers, sum(oi.quantity) AS units
       FROM product p JOIN order_item oi ON oi.product_id = p.product_id JOIN orders o ON o.order_id = oi.order_id
      GROUP BY p.product_id, p.name ORDER BY buyers DESC, p.product_id LIMIT 25`,
    true,
  ),
  e(
    'report: revenue per product category per region',
    `SELECT o.region, p.category, sum(oi.quantity * oi.unit_price) AS revenue
       FROM order_item oi JOIN orders o ON o.order_id = oi.order_id JOIN product p ON p.product_id = oi.product_id
      GROUP BY o.region, p.category ORDER BY o.region, revenue DESC`,
  ),

  // ── Pruning predicates ────────────────────────────────────────────────────────────────
  e('region = NBO, key range', `SELECT * FROM customer WHERE region = 'NBO' AND customer_id < 120 ORDER BY customer_id`, true),
  e('region IN (…)', `SELECT region, city, count(*) AS n FROM customer WHERE region IN ('MSA', 'KSM') GROUP BY region, city`),
  e('order key range', `SELECT * FROM orders WHERE order_id BETWEEN 100 AND 260 ORDER BY order_id`, true),
  e(
    'IS NULL on a nullable column',
    `SELECT region, status, count(*) AS n FROM orders WHERE ship_date IS NULL GROUP BY region, status`,
  ),
  e(
    'IS NULL on vertical fragment columns',
    `SELECT product_id, name, stock, weight_kg FROM product WHERE weight_kg IS NULL OR description IS NULL ORDER BY product_id`,
    true,
  ),
  e('all fragments pruned', `SELECT * FROM customer WHERE region = 'XXX'`),
  e('all fragments pruned, aggregated', `SELECT count(*) AS n, max(created_at) AS latest FROM customer WHERE region = 'XXX'`),
  e(
    'all fragments pruned, joined',
    `SELECT c.customer_id, o.order_id FROM customer c JOIN orders o ON o.customer_id = c.customer_id WHERE c.region = 'XXX' AND o.region = 'XXX'`,
  ),
  e(
    'pruned on one side of a left join',
    `SELECT r.region_code, count(c.customer_id) AS n FROM region r LEFT JOIN customer c ON c.region = r.region_code AND c.region = 'XXX' GROUP BY r.region_code`,
  ),
  e(
    'date range on orders with status',
    `SELECT order_id, customer_id, order_date, status FROM orders
      WHERE order_date >= DATE '2025-06-20' AND status IN ('pending', 'shipped') ORDER BY order_id`,
    true,
  ),
  e(
    'timestamp range on customers',
    `SELECT customer_id, created_at FROM customer WHERE created_at >= TIMESTAMP '2024-12-25 00:00:00' AND region <> 'NBO' ORDER BY customer_id`,
    true,
  ),
  e(
    'timestamptz range on payments',
    `SELECT payment_id, order_id, paid_at, amount FROM payment WHERE paid_at < TIMESTAMPTZ '2023-01-03 12:00:00+03' ORDER BY payment_id`,
    true,
  ),

  // ── Joins ──────────────────────────────────────────────────────────────────────────────
  e(
    'left join: customers without orders',
    `SELECT c.customer_id, c.region FROM customer c LEFT JOIN orders o ON o.customer_id = c.customer_id WHERE o.order_id IS NULL`,
  ),
  e(
    'right join with filter on the preserved side',
    `SELECT c.customer_id, c.name, o.order_id, o.status FROM orders o RIGHT JOIN customer c ON o.customer_id = c.customer_id
      WHERE c.customer_id <= 40`,
  ),
  e(
    'full join of products and a region’s order lines',
    `SELECT p.product_id, x.units FROM product p
       FULL JOIN (SELECT oi.product_id, sum(oi.quantity) AS units FROM order_item oi JOIN orders o ON o.order_id = oi.order_id
                   WHERE o.region = 'KSM' AND o.order_date >= DATE '2025-06-01' GROUP BY oi.product_id) x
         ON x.product_id = p.product_id`,
  ),
  e(
    'vertical + horizontal + derived in one query',
    `SELECT p.category, count(*) AS lines, sum(oi.quantity) AS units, sum(p.stock) AS stock, avg(p.weight_kg) AS avg_weight
       FROM order_item oi JOIN orders o ON o.order_id = oi.order_id JOIN product p ON p.product_id = oi.product_id
      WHERE o.region = 'MSA' GROUP BY p.category`,
  ),
  e(
    'payments of KSM customers by card',
    `SELECT c.customer_id, c.city, p.payment_id, p.amount FROM payment p JOIN orders o ON o.order_id = p.order_id
       JOIN customer c ON c.customer_id = o.customer_id WHERE c.region = 'KSM' AND p.method = 'card' AND p.amount > 50000`,
  ),
  e(
    'self join of orders of the same customer on the same day',
    `SELECT a.order_id, b.order_id AS other FROM orders a JOIN orders b ON a.customer_id = b.customer_id
      AND a.order_date = b.order_date AND a.order_id < b.order_id`,
  ),

  // ── Aggregates ─────────────────────────────────────────────────────────────────────────
  e(
    'GROUP BY / HAVING',
    `SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id HAVING count(*) >= 10 ORDER BY customer_id`,
    true,
  ),
  e(
    'COUNT DISTINCT, SUM, AVG, MIN, MAX',
    `SELECT region, count(DISTINCT customer_id) AS customers, count(*) AS orders, min(order_date) AS first, max(ship_date) AS last,
            avg(ship_date - order_date) AS avg_days FROM orders GROUP BY region`,
  ),
  e(
    'AVG, MIN, MAX of prices per category',
    `SELECT category, avg(price) AS avg_price, min(price) AS min_price, max(price) AS max_price, sum(stock) AS stock,
            count(weight_kg) AS weighed FROM product GROUP BY category`,
  ),
  e(
    'round of an average, per status',
    `SELECT status, round(avg(unit_price), 2) AS avg_price, count(*) AS lines
     FROM order_item oi JOIN orders o ON o.order_id = oi.order_id WHERE oi.order_id <= 3000 GROUP BY status`,
  ),
  e(
    'integer division on rows',
    `SELECT order_id, line_no, quantity / 2 AS half, quantity % 2 AS odd FROM order_item WHERE order_id < 40`,
  ),
  e(
    'integer division of aggregates (partial aggregates at the sites)',
    `SELECT status, sum(quantity) / count(*) AS per_line FROM order_item oi JOIN orders o ON o.order_id = oi.order_id
      WHERE oi.order_id <= 3000 GROUP BY status`,
  ),
  e(
    'aggregate with an OR under AND (pushed to the sites)',
    `SELECT region, count(*) AS n FROM orders WHERE status = 'pending' AND (order_id < 5000 OR order_id > 19000) GROUP BY region`,
  ),
  e('schema-qualified relation', `SELECT count(*) AS n FROM public.customer WHERE region = 'KSM'`),
  e(
    'FILTER clause',
    `SELECT region, count(*) FILTER (WHERE status = 'cancelled') AS cancelled, count(*) AS all_orders FROM orders GROUP BY region`,
  ),
  e('global aggregate', `SELECT count(*), sum(amount), avg(amount), min(paid_at), max(paid_at) FROM payment`),

  // ── ORDER BY / LIMIT / OFFSET / DISTINCT ───────────────────────────────────────────────
  e('top-N with offset', `SELECT product_id, name, price FROM product ORDER BY price DESC, product_id LIMIT 10 OFFSET 5`, true),
  e(
    'NULLS FIRST',
    `SELECT order_id, ship_date FROM orders WHERE order_id > 19900 ORDER BY ship_date NULLS FIRST, order_id`,
    true,
  ),
  e('DESC puts NULLs first', `SELECT product_id, weight_kg FROM product ORDER BY weight_kg DESC, product_id LIMIT 50`, true),
  e('DISTINCT', `SELECT DISTINCT city, region FROM customer`),
  e('OFFSET without LIMIT', `SELECT region_code, name FROM region ORDER BY region_code OFFSET 1`, true),

  // ── Subqueries and CTEs ────────────────────────────────────────────────────────────────
  e(
    'IN subquery',
    `SELECT customer_id, name FROM customer WHERE region = 'MSA'
        AND customer_id IN (SELECT customer_id FROM orders WHERE status = 'cancelled' AND order_date >= DATE '2025-01-01')`,
  ),
  e(
    'NOT EXISTS: products never ordered in KSM',
    `SELECT p.product_id FROM product p WHERE NOT EXISTS (
        SELECT 1 FROM order_item oi JOIN orders o ON o.order_id = oi.order_id WHERE oi.product_id = p.product_id AND o.region = 'KSM')`,
  ),
  e(
    'scalar subquery',
    `SELECT product_id, price FROM product WHERE price > (SELECT avg(price) * 2 FROM product) ORDER BY product_id`,
    true,
  ),
  e(
    'correlated subquery in SELECT',
    `SELECT p.product_id, (SELECT count(*) FROM order_item oi WHERE oi.product_id = p.product_id) AS lines
       FROM product p WHERE p.category = 'books' ORDER BY p.product_id`,
    true,
  ),
  e(
    'correlated subquery in WHERE',
    `SELECT o.order_id, o.customer_id FROM orders o WHERE o.region = 'KSM' AND o.customer_id < 400
        AND o.order_date = (SELECT max(o2.order_date) FROM orders o2 WHERE o2.customer_id = o.customer_id)`,
  ),
  e(
    'CTE',
    `WITH totals AS (SELECT o.order_id, o.region, sum(oi.quantity * oi.unit_price) AS total
                       FROM orders o JOIN order_item oi ON oi.order_id = o.order_id WHERE o.status = 'delivered' GROUP BY o.order_id, o.region)
     SELECT region, count(*) AS orders, avg(total) AS avg_total, max(total) AS max_total FROM totals GROUP BY region`,
  ),
  e(
    'CTE with the name of a relation not read inside it',
    `WITH region AS (SELECT DISTINCT region AS region_code FROM orders WHERE status = 'pending')
     SELECT r.region_code, count(*) AS n FROM region r JOIN customer c ON c.region = r.region_code GROUP BY r.region_code`,
  ),

  // ── CASE, set operations, functions ────────────────────────────────────────────────────
  e(
    'CASE price bands',
    `SELECT CASE WHEN price < 1000 THEN 'cheap' WHEN price < 10000 THEN 'mid' ELSE 'dear' END AS band, count(*) AS n
       FROM product GROUP BY 1`,
  ),
  e('UNION', `SELECT city AS place FROM customer WHERE region = 'NBO' UNION SELECT name FROM region`),
  e(
    'UNION ALL',
    `SELECT 'order' AS kind, order_id AS id FROM orders WHERE customer_id = 7 UNION ALL SELECT 'payment', payment_id FROM payment WHERE order_id < 30`,
  ),
  e(
    'string functions',
    `SELECT customer_id, upper(city) AS city, length(name) AS len, lower(email) LIKE '%gmail%' AS gmail, name || ' (' || region || ')' AS label
       FROM customer WHERE customer_id % 97 = 0`,
  ),
  e('ILIKE and substr', `SELECT product_id, substr(name, 1, 5) AS head FROM product WHERE name ILIKE '%SAMSUNG%'`),
  e(
    'COALESCE / NULLIF / GREATEST',
    `SELECT product_id, coalesce(description, 'n/a') AS d, nullif(stock, 0) AS s,
      greatest(price, 1000) AS g, least(stock, 10) AS l FROM product WHERE product_id <= 60`,
  ),
  e('boolean in the select list', `SELECT product_id, price > 1000 AS dear FROM product WHERE category = 'home'`),

  // ── Window functions ───────────────────────────────────────────────────────────────────
  e(
    'row_number per region',
    `SELECT * FROM (SELECT customer_id, region, created_at,
                           row_number() OVER (PARTITION BY region ORDER BY created_at DESC, customer_id) AS rn FROM customer) t
      WHERE rn <= 3`,
  ),
  e(
    'rank within category',
    `SELECT product_id, category, price, rank() OVER (PARTITION BY category ORDER BY price DESC) AS r FROM product`,
  ),
  e(
    'sum over partition',
    `SELECT payment_id, order_id, amount, sum(amount) OVER (PARTITION BY order_id) AS order_paid FROM payment WHERE order_id < 400`,
  ),

  // ── Dates ──────────────────────────────────────────────────────────────────────────────
  e(
    'extract year/month',
    `SELECT extract(year FROM order_date) AS y, extract(month FROM order_date) AS m, count(*) AS n FROM orders GROUP BY 1, 2`,
  ),
  e(
    'date_trunc on a timestamp',
    `SELECT date_trunc('month', created_at) AS month, count(*) AS n FROM customer WHERE region = 'NBO' GROUP BY 1`,
  ),
  e(
    'extract on dates, cast back to date',
    `SELECT CAST(order_date - CAST(extract(day FROM order_date) AS integer) + 1 AS date) AS month_start, count(*) AS n
       FROM orders WHERE region = 'MSA' GROUP BY 1`,
  ),
  e(
    'date_trunc and extract on a timestamptz',
    `SELECT date_trunc('day', paid_at) AS day, extract(hour FROM paid_at) AS h, count(*) AS n FROM payment WHERE payment_id <= 500 GROUP BY 1, 2`,
  ),
  e(
    'date arithmetic',
    `SELECT order_id, order_date + 7 AS week_later, ship_date - order_date AS days FROM orders WHERE order_id <= 50`,
  ),

  // ── PostgreSQL forms the coordinator must read the same way (probed; they agree) ───────
  e('DISTINCT ON', `SELECT DISTINCT ON (region) region, customer_id FROM customer ORDER BY region, customer_id`, true),
  e('= ANY(ARRAY[…])', `SELECT region, count(*) AS n FROM customer WHERE region = ANY(ARRAY['NBO', 'MSA']) GROUP BY region`),
  e(
    'LATERAL',
    `SELECT c.customer_id, x.order_id FROM customer c,
       LATERAL (SELECT o.order_id FROM orders o WHERE o.customer_id = c.customer_id ORDER BY o.order_id LIMIT 1) x
      WHERE c.customer_id < 100`,
  ),
  e('FETCH FIRST', `SELECT region, count(*) AS n FROM customer GROUP BY region ORDER BY 2 DESC FETCH FIRST 2 ROWS ONLY`, true),
  e('ROLLUP', `SELECT region, city, count(*) AS n FROM customer GROUP BY ROLLUP (region, city)`),
  e(
    'percentile_disc',
    `SELECT category, percentile_disc(0.9) WITHIN GROUP (ORDER BY stock) AS p90 FROM product GROUP BY category`,
  ),
  e(
    'lag and ntile',
    `SELECT order_id, lag(order_id) OVER (PARTITION BY customer_id ORDER BY order_id) AS prev,
      ntile(3) OVER (PARTITION BY customer_id ORDER BY order_id) AS t FROM orders WHERE customer_id < 30`,
  ),
  e(
    'intervals and AT TIME ZONE',
    `SELECT order_id, order_date + interval '36 hours' AS t, ship_date - 1 AS d FROM orders WHERE order_id < 20`,
  ),
  e('AT TIME ZONE', `SELECT payment_id, paid_at AT TIME ZONE 'Africa/Nairobi' AS local FROM payment WHERE payment_id < 20`),
  e(
    'text casts of dates, timestamps and decimals',
    `SELECT o.order_date::text AS d, c.created_at::text AS t, p.paid_at::text AS z, p.amount::text AS a
      FROM orders o JOIN customer c ON c.customer_id = o.customer_id JOIN payment p ON p.order_id = o.order_id WHERE o.order_id < 15`,
  ),
  e(
    'string functions (split_part, position, lpad, substring … for)',
    `SELECT split_part(email, '@', 2) AS dom, count(*) AS n,
      min(position('a' in name)) AS p, min(lpad(customer_id::text, 6, '0')) AS padded, min(substring(name from 1 for 3)) AS head
      FROM customer GROUP BY 1`,
  ),
  e(
    'IN / NOT IN with NULL',
    `SELECT (SELECT count(*) FROM customer WHERE region IN ('NBO', NULL)) AS a,
      (SELECT count(*) FROM customer WHERE region NOT IN ('NBO', NULL)) AS b`,
  ),
  e(
    'NOT IN a subquery holding NULLs',
    `SELECT count(*) AS n FROM product WHERE weight_kg NOT IN (SELECT weight_kg FROM product WHERE product_id < 50)`,
  ),
  e(
    'untyped string literal on a timestamp (pushed to SQLite)',
    `SELECT customer_id FROM customer WHERE region = 'MSA' AND created_at > '2024-12-30 12:00'`,
  ),
  e(
    'untyped string literal with an offset on a timestamptz',
    `SELECT payment_id FROM payment WHERE paid_at < '2023-01-02 09:00:00+03'`,
  ),
  e('DATE literal against a timestamptz', `SELECT count(*) AS n FROM payment WHERE paid_at >= DATE '2025-06-29'`),
  e('fractional bound on an integer key', `SELECT count(*) AS n FROM customer WHERE customer_id < 2500.5 AND customer_id > 2498`),
  e('case of identifiers', `SELECT CUSTOMER_ID, Region FROM CUSTOMER WHERE REGION = 'NBO' AND "customer_id" < 10`),
  e('row-value IN', `SELECT count(*) AS n FROM customer WHERE (region, city) IN (('NBO', 'Karen'), ('MSA', 'Nyali'))`),
  e(
    'stddev / variance',
    `SELECT stddev(price) AS s, variance(quantity) AS v FROM product p JOIN order_item oi ON oi.product_id = p.product_id WHERE oi.order_id < 500`,
  ),
  e(
    'ORDER BY text then key',
    `SELECT name, customer_id FROM customer WHERE customer_id < 200 ORDER BY name, customer_id LIMIT 20`,
    true,
  ),

  // ── Library: STUDENT (vertical + horizontal), LOAN / AUTHOR (derived) ─────────────────
  l(
    'report: open loans per library',
    `SELECT b.site AS library, count(*) AS open_loans FROM loan l JOIN book b ON b.id_book = l.id_book
      WHERE l.return_date IS NULL GROUP BY b.site ORDER BY b.site`,
    true,
  ),
  l(
    'report: students near the limit',
    `SELECT s.nce, s.fname, s.lname, s.institution, s.nb_borrow FROM student s WHERE s.nb_borrow >= 3 ORDER BY s.nb_borrow DESC, s.nce`,
    true,
  ),
  l(
    'report: staff per school',
    `SELECT assignment, status, count(*) AS staff FROM employee GROUP BY assignment, status ORDER BY assignment, status`,
    true,
  ),
  l(
    'STUDENT: both vertical parts, one horizontal piece',
    `SELECT nce, fname, address, class, nb_borrow FROM student WHERE institution = 'FST' AND nb_borrow > 0 ORDER BY nce`,
    true,
  ),
  l('STUDENT: lending part only', `SELECT nce, lname, nb_borrow FROM student WHERE nb_borrow = 5`),
  l('STUDENT: address IS NULL', `SELECT institution, count(*) AS n FROM student WHERE address IS NULL GROUP BY institution`),
  l('STUDENT: SELECT *', `SELECT * FROM student WHERE nce BETWEEN 20230100 AND 20230160 ORDER BY nce`, true),
  l(
    'AUTHOR derived from BOOK',
    `SELECT b.id_book, b.title, a.au_lname, a.au_fname FROM book b JOIN author a ON a.id_book = b.id_book WHERE b.site = 'ENIT' AND b.year >= 2020`,
  ),
  l(
    'LOAN across libraries',
    `SELECT s.institution, b.site, count(*) AS loans FROM loan l JOIN student s ON s.nce = l.nce JOIN book b ON b.id_book = l.id_book
      WHERE s.institution <> b.site GROUP BY s.institution, b.site`,
  ),
  l(
    'top authors',
    `SELECT au_lname, au_fname, count(DISTINCT id_book) AS books FROM author GROUP BY au_lname, au_fname
      ORDER BY books DESC, au_lname, au_fname LIMIT 10`,
    true,
  ),
  l(
    'books never loaned',
    `SELECT b.id_book, b.site FROM book b WHERE NOT EXISTS (SELECT 1 FROM loan l WHERE l.id_book = b.id_book)`,
  ),
  l('website IS NULL', `SELECT site, count(*) AS n, count(website) AS with_site FROM book WHERE website IS NULL GROUP BY site`),
  l(
    'left join: loans per FSEGT student, zero included',
    `SELECT s.nce, count(l.id_book) AS loans FROM student s LEFT JOIN loan l ON l.nce = s.nce WHERE s.institution = 'FSEGT' GROUP BY s.nce`,
  ),
  l(
    'right join: books of FST with their loans',
    `SELECT b.id_book, l.nce, l.date_borrowing FROM loan l RIGHT JOIN book b ON b.id_book = l.id_book WHERE b.site = 'FST' AND b.id_book < 400`,
  ),
  l(
    'full join: staff and students per school',
    `SELECT coalesce(e.assignment, s.institution) AS school, e.staff, s.students FROM
       (SELECT assignment, count(*) AS staff FROM employee GROUP BY assignment) e
       FULL JOIN (SELECT institution, count(*) AS students FROM student WHERE institution <> 'ENIT' GROUP BY institution) s
       ON s.institution = e.assignment`,
  ),
  l(
    'loans per month in 2024',
    `SELECT extract(month FROM date_borrowing) AS month, count(*) AS n FROM loan
      WHERE date_borrowing BETWEEN DATE '2024-01-01' AND DATE '2024-12-31' GROUP BY 1`,
  ),
  l(
    'average loan duration per library',
    `SELECT b.site, avg(l.return_date - l.date_borrowing) AS days, max(l.return_date) AS last FROM loan l JOIN book b ON b.id_book = l.id_book GROUP BY b.site`,
  ),
  l(
    'rank books by stock per area',
    `SELECT id_book, area, stock, dense_rank() OVER (PARTITION BY area ORDER BY stock DESC) AS r FROM book WHERE year < 1985`,
  ),
  l(
    'CTE with share',
    `WITH per_site AS (SELECT b.site, count(*) AS n FROM loan l JOIN book b ON b.id_book = l.id_book GROUP BY b.site)
     SELECT site, n, round(100.0 * n / (SELECT sum(n) FROM per_site), 2) AS pct FROM per_site`,
  ),
  l(
    'UNION ALL of people',
    `SELECT fname, lname, assignment AS school FROM employee UNION ALL SELECT fname, lname, institution FROM student WHERE nce % 50 = 0`,
  ),
  l(
    'correlated invariant: nb_borrow = open loans',
    `SELECT count(*) AS broken FROM student s WHERE s.institution = 'FSEGT' AND s.nce < 20231200
        AND s.nb_borrow <> (SELECT count(*) FROM loan l WHERE l.nce = s.nce AND l.return_date IS NULL)`,
  ),
  l('year range', `SELECT id_book, title, year FROM book WHERE year BETWEEN 1990 AND 1999 ORDER BY id_book`, true),
  l('year IS NULL (empty)', `SELECT * FROM book WHERE year IS NULL`),
  l(
    'year in the future (empty), joined',
    `SELECT b.id_book, l.nce FROM book b JOIN loan l ON l.id_book = b.id_book WHERE b.year > 2030`,
  ),
  l('all fragments pruned', `SELECT count(*) AS n FROM book WHERE site = 'XXX'`),
  l(
    'CASE per decade',
    `SELECT CASE WHEN year < 1990 THEN 'old' WHEN year < 2010 THEN 'middle' ELSE 'recent' END AS age, site, count(*) AS n FROM book GROUP BY 1, 2`,
  ),
  l('DISTINCT areas', `SELECT DISTINCT area, site FROM book`),
  l('scalar subquery', `SELECT id_book, stock FROM book WHERE stock > (SELECT avg(stock) FROM book) AND site = 'FSEGT'`),
  l(
    'IN subquery',
    `SELECT nce, institution FROM student WHERE nce IN (SELECT l.nce FROM loan l JOIN book b ON b.id_book = l.id_book WHERE b.area = 'Computer Science' AND l.return_date IS NULL)`,
  ),
  l(
    'employees by status IS NULL or librarian',
    `SELECT nss, fname, status FROM employee WHERE status = 'librarian' OR address IS NULL`,
  ),
  // Fixed after the suite found them: `float` is double precision, and a cast keeps its operand's name.
  e('float is double precision', `SELECT sum(amount)::float / count(*) AS f FROM payment`),
  e('a cast keeps the name of what it casts', `SELECT count(*)::int, max(region_code)::text FROM region`),

  // ── Top-N pushdown (each site returns its first LIMIT + OFFSET rows; topn.ts) ─────────
  e('top-N: ties on the sort key (only the key selected)', `SELECT ship_date FROM orders ORDER BY ship_date DESC LIMIT 40`, true),
  e(
    'top-N: NULLS FIRST, DESC key, offset',
    `SELECT order_id, ship_date FROM orders WHERE status <> 'delivered' ORDER BY ship_date NULLS FIRST, order_id DESC LIMIT 12 OFFSET 7`,
    true,
  ),
  e(
    'top-N: NULLs last by default, ties broken by the key',
    `SELECT product_id, weight_kg FROM product ORDER BY weight_kg, product_id LIMIT 25 OFFSET 3`,
    true,
  ),
  e(
    'top-N: output alias and ordinal over text',
    `SELECT name AS n, customer_id FROM customer WHERE region <> 'NBO' ORDER BY n DESC, 2 LIMIT 15`,
    true,
  ),
  e(
    'top-N: a condition the sites cannot evaluate keeps every row',
    `SELECT customer_id, name FROM customer WHERE lower(name) LIKE 'a%' ORDER BY customer_id LIMIT 5`,
    true,
  ),
  e('top-N: LIMIT 0', `SELECT * FROM product ORDER BY price LIMIT 0`),
  e('top-N: timestamps', `SELECT customer_id, created_at FROM customer ORDER BY created_at DESC, customer_id LIMIT 9`, true),

  // ── Semijoins chosen by the cost model (joins.ts, staged.ts) ──────────────────────────
  e(
    'semijoin: a few customers’ keys reduce their orders',
    `SELECT c.customer_id, c.city, o.order_id, o.status FROM customer c JOIN orders o ON o.customer_id = c.customer_id
      WHERE c.city = 'Karen' AND c.customer_id < 800`,
  ),
  e(
    'semijoin: empty key set',
    `SELECT c.customer_id, o.order_id FROM customer c JOIN orders o ON o.customer_id = c.customer_id WHERE c.customer_id < 0`,
  ),
  e(
    'semijoin: NULL keys on a nullable text column',
    `SELECT p.product_id, c.customer_id FROM product p JOIN customer c ON c.city = p.description WHERE p.weight_kg IS NULL`,
  ),
  e(
    'semijoin: the order lines of one customer’s orders',
    `SELECT o.order_id, oi.line_no, oi.quantity FROM orders o JOIN order_item oi ON oi.order_id = o.order_id WHERE o.customer_id = 42`,
  ),
  e(
    'semijoin inside an IN subquery',
    `SELECT count(*) AS n FROM payment WHERE order_id IN (
       SELECT o.order_id FROM orders o JOIN customer c ON c.customer_id = o.customer_id WHERE c.email LIKE 'a%' AND c.customer_id < 300)`,
  ),
  e(
    'semijoin then aggregation and a window',
    `SELECT c.customer_id, count(*) AS orders, rank() OVER (ORDER BY count(*) DESC, c.customer_id) AS r
       FROM customer c JOIN orders o ON o.customer_id = c.customer_id WHERE c.customer_id BETWEEN 100 AND 140 GROUP BY c.customer_id`,
  ),

  // ── Aggregation below a LEFT JOIN (eager.ts) and COUNT(DISTINCT) per slice ─────────────
  e(
    'left-join aggregation: customers without orders keep count(*) = 1 and count(x) = 0',
    `SELECT c.customer_id, c.name, count(*) AS n, count(o.order_id) AS orders, count(DISTINCT o.order_id) AS d, sum(oi.quantity) AS q,
            avg(oi.unit_price) AS p, min(o.order_date) AS first, max(oi.line_no) AS lines
       FROM customer c LEFT JOIN orders o ON o.customer_id = c.customer_id LEFT JOIN order_item oi ON oi.order_id = o.order_id
      WHERE c.customer_id > 2300 GROUP BY c.customer_id, c.name`,
  ),
  e(
    'left-join aggregation with HAVING on the joined side',
    `SELECT c.customer_id, c.region, coalesce(sum(p.amount), 0) AS paid FROM customer c
       LEFT JOIN orders o ON o.customer_id = c.customer_id LEFT JOIN payment p ON p.order_id = o.order_id
      GROUP BY c.customer_id, c.region HAVING count(p.payment_id) = 0 ORDER BY c.customer_id`,
    true,
  ),
  e(
    'left-join aggregation, one level, integer division of the partial sums',
    `SELECT c.customer_id, sum(o.order_id) / count(o.order_id) AS mid FROM customer c LEFT JOIN orders o ON o.customer_id = c.customer_id
      WHERE c.region = 'KSM' GROUP BY c.customer_id`,
  ),
  e(
    'COUNT(DISTINCT) of the slicing key per slice',
    `SELECT o.status, count(DISTINCT o.order_id) AS orders, count(DISTINCT oi.order_id) AS with_lines, count(*) AS lines
       FROM orders o JOIN order_item oi ON oi.order_id = o.order_id GROUP BY o.status`,
  ),
  e(
    'COUNT(DISTINCT) of a column implied per fragment',
    `SELECT p.method, count(DISTINCT o.region) AS regions FROM payment p JOIN orders o ON o.order_id = p.order_id GROUP BY p.method`,
  ),
  e(
    'COUNT(DISTINCT) of any column when the group lives in one slice',
    `SELECT o.order_id, count(DISTINCT oi.product_id) AS products FROM orders o JOIN order_item oi ON oi.order_id = o.order_id
      WHERE o.order_id < 400 GROUP BY o.order_id`,
  ),
  e(
    'slice pushdown with a LEFT JOIN of the derived relation',
    `SELECT o.region, count(*) AS n, count(p.payment_id) AS paid FROM orders o LEFT JOIN payment p ON p.order_id = o.order_id GROUP BY o.region`,
  ),
  e(
    'top-N inside the slices: groups ordered by a sum, offset',
    `SELECT o.order_id, o.status, sum(oi.quantity * oi.unit_price) AS total FROM orders o JOIN order_item oi ON oi.order_id = o.order_id
      GROUP BY o.order_id, o.status ORDER BY total DESC, o.order_id LIMIT 10 OFFSET 2`,
    true,
  ),
  e(
    'top-N inside the slices: ordinal, count and a nullable max',
    `SELECT o.order_id, count(*) AS lines, max(oi.unit_price) AS top FROM orders o JOIN order_item oi ON oi.order_id = o.order_id
      GROUP BY o.order_id ORDER BY 2 DESC, top, o.order_id LIMIT 15`,
    true,
  ),
  e(
    'top-N inside the slices: a nullable group column NULLS FIRST',
    `SELECT o.order_id, o.ship_date, count(*) AS n FROM orders o JOIN payment p ON p.order_id = o.order_id
      GROUP BY o.order_id, o.ship_date ORDER BY o.ship_date NULLS FIRST, o.order_id DESC LIMIT 8`,
    true,
  ),
  e(
    'top-N inside the slices: ties (only the sort key selected)',
    `SELECT count(*) AS n FROM orders o JOIN order_item oi ON oi.order_id = o.order_id GROUP BY o.order_id ORDER BY n DESC LIMIT 5`,
    true,
  ),
  e(
    'join elimination: the parent only through its implied region and the key',
    `SELECT o.region, o.order_id, count(*) AS lines, sum(oi.quantity) AS units FROM orders o JOIN order_item oi ON oi.order_id = o.order_id
      WHERE oi.order_id < 2000 GROUP BY o.region, o.order_id`,
  ),
  e(
    'join elimination with a condition the parent’s fragment implies',
    `SELECT p.method, count(*) AS n FROM payment p JOIN orders o ON o.order_id = p.order_id WHERE o.region IN ('NBO', 'KSM') GROUP BY p.method`,
  ),
  e(
    'broadcast: a few customers sent to every order slice, joined and aggregated there',
    `SELECT c.city, count(*) AS lines, sum(oi.quantity) AS units FROM customer c JOIN orders o ON o.customer_id = c.customer_id
       JOIN order_item oi ON oi.order_id = o.order_id WHERE c.city = 'Karen' AND c.customer_id < 900 GROUP BY c.city`,
  ),
  e(
    'broadcast: grouped by the broadcast relation’s key and name',
    `SELECT c.customer_id, c.name, count(*) AS orders, min(o.order_date) AS first FROM orders o JOIN customer c ON c.customer_id = o.customer_id
      WHERE c.customer_id BETWEEN 100 AND 130 GROUP BY c.customer_id, c.name`,
  ),
  e(
    'broadcast of no rows',
    `SELECT c.name, count(*) AS n FROM customer c JOIN orders o ON o.customer_id = c.customer_id WHERE c.city = 'Nowhere' GROUP BY c.name`,
  ),
  e(
    'left-join aggregation: a WHERE on the preserved key is carried to the joined key at the sites',
    `SELECT c.customer_id, count(*) AS n, count(o.order_id) AS orders, sum(o.order_id) / count(o.order_id) AS mid
       FROM customer c LEFT JOIN orders o ON o.customer_id = c.customer_id WHERE c.customer_id > 4800 GROUP BY c.customer_id`,
  ),
  e(
    'left-join aggregation: an OR on the preserved key, in parentheses, with another condition',
    `SELECT c.customer_id, c.name, count(DISTINCT o.order_id) AS orders, coalesce(sum(oi.quantity), 0) AS items
       FROM customer c LEFT JOIN orders o ON o.customer_id = c.customer_id LEFT JOIN order_item oi ON oi.order_id = o.order_id
      WHERE c.region = 'MSA' AND (c.customer_id < 300 OR c.customer_id IN (4990, 4995)) GROUP BY c.customer_id, c.name`,
  ),
  e(
    'slice pushdown with a doubly parenthesized WHERE',
    `SELECT o.region, count(*) AS n FROM orders o JOIN order_item oi ON oi.order_id = o.order_id WHERE ((o.order_id < 500) OR (o.order_id > 19500)) GROUP BY o.region`,
  ),
  l(
    'semijoin with NULL keys (addresses)',
    `SELECT e.nss, s.nce FROM employee e JOIN student s ON s.address = e.address WHERE e.status = 'librarian'`,
  ),
  l('top-N over vertical pieces (not pushed)', `SELECT nce, fname, class FROM student ORDER BY nce DESC LIMIT 7`, true),
  l(
    'left-join aggregation: books never loaned',
    `SELECT b.id_book, b.title, count(l.nce) AS loans, count(*) AS n, max(l.date_borrowing) AS last
       FROM book b LEFT JOIN loan l ON l.id_book = b.id_book WHERE b.site = 'FST' GROUP BY b.id_book, b.title`,
  ),
];
