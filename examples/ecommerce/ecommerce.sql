-- Three-site e-commerce company (Kenya): one central database, to be distributed over
-- Nairobi (NBO), Mombasa (MSA) and Kisumu (KSM).
--
-- The data is generated deterministically (md5-based pseudo-random numbers over
-- generate_series), so every load yields exactly the same rows on PGlite and PostgreSQL.
-- The helper functions live in pg_temp and vanish with the session.
--
-- Invariants kept by the data: an order's region is its customer's region; ship_date is
-- NULL exactly for pending and cancelled orders; payments exist only for orders that are
-- not cancelled, and they add up to the order's total.

CREATE FUNCTION pg_temp.rnd(key text) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS
$$ SELECT ('x' || substr(md5(key), 1, 12))::bit(48)::bigint $$;

CREATE FUNCTION pg_temp.pick(items text[], key text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS
$$ SELECT items[1 + (pg_temp.rnd(key) % cardinality(items))::int] $$;

CREATE TABLE region (
  region_code text PRIMARY KEY,
  name        text NOT NULL,
  currency    text NOT NULL
);

CREATE TABLE customer (
  customer_id int PRIMARY KEY,
  name        text NOT NULL,
  email       text NOT NULL UNIQUE,
  city        text NOT NULL,
  region      text NOT NULL REFERENCES region (region_code) CHECK (region IN ('NBO', 'MSA', 'KSM')),
  created_at  timestamp NOT NULL
);

CREATE TABLE product (
  product_id  int PRIMARY KEY,
  name        text NOT NULL,
  category    text NOT NULL CHECK (category IN ('electronics', 'clothing', 'home', 'books', 'grocery')),
  price       numeric(10,2) NOT NULL CHECK (price > 0),
  stock       int NOT NULL CHECK (stock >= 0),
  weight_kg   numeric(6,3),
  description text
);

CREATE TABLE orders (
  order_id    int PRIMARY KEY,
  customer_id int NOT NULL REFERENCES customer (customer_id),
  region      text NOT NULL CHECK (region IN ('NBO', 'MSA', 'KSM')),
  order_date  date NOT NULL,
  ship_date   date,
  status      text NOT NULL CHECK (status IN ('pending', 'shipped', 'delivered', 'cancelled'))
);

CREATE TABLE order_item (
  order_id   int NOT NULL REFERENCES orders (order_id),
  line_no    int NOT NULL,
  product_id int NOT NULL REFERENCES product (product_id),
  quantity   int NOT NULL CHECK (quantity > 0),
  unit_price numeric(10,2) NOT NULL,
  PRIMARY KEY (order_id, line_no)
);

CREATE TABLE payment (
  payment_id int PRIMARY KEY,
  order_id   int NOT NULL REFERENCES orders (order_id),
  method     text NOT NULL CHECK (method IN ('mpesa', 'card', 'paypal', 'cash')),
  amount     numeric(12,2) NOT NULL,
  paid_at    timestamptz NOT NULL
);

INSERT INTO region (region_code, name, currency) VALUES
  ('NBO', 'Nairobi', 'KES'),
  ('MSA', 'Mombasa', 'KES'),
  ('KSM', 'Kisumu',  'KES');

-- 5000 customers: Nairobi 50 %, Mombasa 30 %, Kisumu 20 %.
INSERT INTO customer (customer_id, name, email, city, region, created_at)
SELECT g,
       n.first || ' ' || n.last,
       lower(replace(n.first || '.' || n.last, '''', '')) || g || '@'
         || pg_temp.pick(ARRAY['gmail.com','gmail.com','gmail.com','yahoo.com','outlook.com','safaricom.co.ke','ke.example.com'], 'cu-m' || g),
       CASE r.code
         WHEN 'NBO' THEN pg_temp.pick(ARRAY['Nairobi','Nairobi','Nairobi','Westlands','Karen','Kasarani','Embakasi','Ruiru','Thika','Kiambu','Kitengela'], 'cu-c' || g)
         WHEN 'MSA' THEN pg_temp.pick(ARRAY['Mombasa','Mombasa','Mombasa','Nyali','Likoni','Bamburi','Kilifi','Malindi','Diani','Mtwapa'], 'cu-c' || g)
         ELSE            pg_temp.pick(ARRAY['Kisumu','Kisumu','Kisumu','Kakamega','Kisii','Bungoma','Homa Bay','Siaya','Kericho','Busia'], 'cu-c' || g)
       END,
       r.code,
       timestamp '2022-01-01 00:00:00' + (pg_temp.rnd('cu-t' || g) % (3 * 365 * 86400)) * interval '1 second'
  FROM generate_series(1, 5000) AS g
  CROSS JOIN LATERAL (SELECT CASE WHEN pg_temp.rnd('cu-r' || g) % 10 < 5 THEN 'NBO'
                                  WHEN pg_temp.rnd('cu-r' || g) % 10 < 8 THEN 'MSA'
                                  ELSE 'KSM' END AS code) AS r
  CROSS JOIN LATERAL (SELECT
       pg_temp.pick(ARRAY['Wanjiru','Kamau','Otieno','Achieng','Mwangi','Njeri','Kipchoge','Chebet','Omondi',
                          'Atieno','Mutua','Wambui','Kiprono','Jepkosgei','Odhiambo','Akinyi','Njoroge','Nyambura',
                          'Baraka','Amani','Zawadi','Juma','Fatuma','Hassan','Mohamed','Halima','Grace','Brian',
                          'Faith','Kevin','Mercy','Dennis','Purity','Collins','Esther','Victor','Joy','Ian'], 'cu-f' || g) AS first,
       pg_temp.pick(ARRAY['Kamau','Odhiambo','Mwangi','Otieno','Kariuki','Wafula','Ochieng','Njoroge','Kiplagat',
                          'Mutiso','Wekesa','Onyango','Cheruiyot','Nyongesa','Kimani','Mohamed','Ali','Omar','Barasa',
                          'Owino','Korir','Maina','Wanyama','Gitau','Rotich','Muthoni','Okoth','Ndungu','Said'], 'cu-l' || g) AS last) AS n;

-- 500 products in five categories.
INSERT INTO product (product_id, name, category, price, stock, weight_kg, description)
SELECT g,
       CASE c.cat
         WHEN 'electronics' THEN pg_temp.pick(ARRAY['Tecno','Infinix','Samsung','Nokia','Hisense','Oraimo','Lenovo','HP'], 'pr-b' || g) || ' '
                                 || pg_temp.pick(ARRAY['Smartphone','Earbuds','Power Bank','32" TV','Laptop','Bluetooth Speaker','Smartwatch','Router'], 'pr-i' || g)
         WHEN 'clothing'    THEN pg_temp.pick(ARRAY['Kitenge','Maasai Shuka','Cotton','Denim','Linen','Kikoi'], 'pr-b' || g) || ' '
                                 || pg_temp.pick(ARRAY['Shirt','Dress','Trousers','Jacket','Skirt','Wrap','Sandals','Cap'], 'pr-i' || g)
         WHEN 'home'        THEN pg_temp.pick(ARRAY['Ramtons','Sayona','Von','Jiko Bora','Armco'], 'pr-b' || g) || ' '
                                 || pg_temp.pick(ARRAY['Gas Cooker','Blender','Electric Kettle','Sufuria Set','Water Dispenser','Iron Box','Mosquito Net','Solar Lamp'], 'pr-i' || g)
         WHEN 'books'       THEN pg_temp.pick(ARRAY['The River Between','Weep Not, Child','Petals of Blood','Kidagaa Kimemwozea','Blossoms of the Savannah','Unbowed','Coming to Birth','Dust','KCSE Revision Maths','Swahili Dictionary'], 'pr-i' || g)
         ELSE                    pg_temp.pick(ARRAY['Kabras','Mumias','Brookside','Ketepa','Jogoo','Pembe','Kenylon','Dormans'], 'pr-b' || g) || ' '
                                 || pg_temp.pick(ARRAY['Sugar 2kg','Milk 500ml','Tea Leaves 250g','Maize Flour 2kg','Cooking Oil 1L','Rice 1kg','Coffee 200g'], 'pr-i' || g)
       END || ' #' || g,
       c.cat,
       round(CASE c.cat
               WHEN 'electronics' THEN 1500 + pg_temp.rnd('pr-p' || g) % 60000
               WHEN 'clothing'    THEN 300 + pg_temp.rnd('pr-p' || g) % 4500
               WHEN 'home'        THEN 250 + pg_temp.rnd('pr-p' || g) % 15000
               WHEN 'books'       THEN 350 + pg_temp.rnd('pr-p' || g) % 2500
               ELSE                    60 + pg_temp.rnd('pr-p' || g) % 900
             END + (pg_temp.rnd('pr-c' || g) % 100) / 100.0, 2),
       (pg_temp.rnd('pr-s' || g) % 400)::int,
       CASE WHEN pg_temp.rnd('pr-wn' || g) % 12 = 0 THEN NULL
            ELSE round((CASE c.cat WHEN 'electronics' THEN 0.08 + (pg_temp.rnd('pr-w' || g) % 12000) / 1000.0
                                   WHEN 'home' THEN 0.2 + (pg_temp.rnd('pr-w' || g) % 15000) / 1000.0
                                   WHEN 'grocery' THEN 0.2 + (pg_temp.rnd('pr-w' || g) % 2000) / 1000.0
                                   ELSE 0.1 + (pg_temp.rnd('pr-w' || g) % 1500) / 1000.0 END)::numeric, 3) END,
       CASE WHEN pg_temp.rnd('pr-dn' || g) % 5 = 0 THEN NULL
            ELSE pg_temp.pick(ARRAY['Best seller','Genuine product with 12 months warranty','Locally made in Kenya',
                                    'Free delivery within the city','Imported','New arrival','Limited stock'], 'pr-d' || g) END
  FROM generate_series(1, 500) AS g
  CROSS JOIN LATERAL (SELECT pg_temp.pick(ARRAY['electronics','electronics','clothing','clothing','home','books','grocery','grocery'], 'pr-k' || g) AS cat) AS c;

-- 20000 orders between 2023-01-01 and 2025-06-30, never before the customer signed up.
INSERT INTO orders (order_id, customer_id, region, order_date, ship_date, status)
SELECT g, c.customer_id, c.region, o.d,
       CASE WHEN st.status IN ('pending', 'cancelled') THEN NULL
            ELSE o.d + (1 + pg_temp.rnd('or-sh' || g) % 5)::int END,
       st.status
  FROM generate_series(1, 20000) AS g
  JOIN customer AS c ON c.customer_id = 1 + (pg_temp.rnd('or-c' || g) % 5000)::int
  CROSS JOIN LATERAL (SELECT GREATEST(c.created_at::date, date '2023-01-01')
                               + (pg_temp.rnd('or-d' || g) % (date '2025-06-30' - GREATEST(c.created_at::date, date '2023-01-01') + 1))::int AS d) AS o
  CROSS JOIN LATERAL (SELECT CASE
         WHEN o.d > date '2025-06-25' THEN (ARRAY['pending','pending','shipped'])[1 + (pg_temp.rnd('or-s' || g) % 3)::int]
         WHEN o.d > date '2025-06-15' THEN (ARRAY['pending','shipped','shipped','delivered','cancelled'])[1 + (pg_temp.rnd('or-s' || g) % 5)::int]
         WHEN pg_temp.rnd('or-s' || g) % 100 < 9 THEN 'cancelled'
         ELSE 'delivered' END AS status) AS st;

-- 1 to 5 lines per order (≈60000), each a different product, at the list price or a discount.
INSERT INTO order_item (order_id, line_no, product_id, quantity, unit_price)
SELECT o.order_id, n, p.product_id,
       CASE WHEN pg_temp.rnd('oi-q' || o.order_id || '-' || n) % 10 < 6 THEN 1
            ELSE 2 + (pg_temp.rnd('oi-qq' || o.order_id || '-' || n) % 4)::int END,
       CASE WHEN pg_temp.rnd('oi-d' || o.order_id || '-' || n) % 10 = 0 THEN round(p.price * 0.9, 2) ELSE p.price END
  FROM orders AS o
  CROSS JOIN LATERAL generate_series(1, 1 + (pg_temp.rnd('oi-n' || o.order_id) % 5)::int) AS n
  JOIN product AS p
    ON p.product_id = 1 + ((pg_temp.rnd('oi-p' || o.order_id) + (n - 1) * (1 + pg_temp.rnd('oi-s' || o.order_id) % 97)) % 500)::int;

-- One payment per order that is not cancelled (pending orders are paid upfront); 8 % are
-- split between M-Pesa and cash on delivery.
CREATE TEMPORARY TABLE order_total AS
SELECT o.order_id, o.order_date, o.region, sum(i.quantity * i.unit_price) AS total,
       pg_temp.rnd('pa-x' || o.order_id) % 100 < 8 AS split
  FROM orders AS o JOIN order_item AS i USING (order_id)
 WHERE o.status <> 'cancelled'
 GROUP BY o.order_id, o.order_date, o.region;

INSERT INTO payment (payment_id, order_id, method, amount, paid_at)
SELECT row_number() OVER (ORDER BY t.order_id, part)::int,
       t.order_id,
       CASE WHEN part = 2 THEN 'cash'
            WHEN t.split THEN 'mpesa'
            ELSE pg_temp.pick(CASE t.region
                                WHEN 'NBO' THEN ARRAY['mpesa','mpesa','mpesa','mpesa','mpesa','card','card','card','paypal','cash']
                                ELSE ARRAY['mpesa','mpesa','mpesa','mpesa','mpesa','mpesa','card','card','paypal','cash','cash'] END,
                              'pa-m' || t.order_id) END,
       CASE WHEN NOT t.split THEN t.total
            WHEN part = 1 THEN round(t.total / 2, 2)
            ELSE t.total - round(t.total / 2, 2) END,
       -- local time in Nairobi (UTC+3), stored as timestamptz
       ((t.order_date + time '07:00' + (pg_temp.rnd('pa-t' || t.order_id) % 50400) * interval '1 second'
         + (part - 1) * interval '2 days') - interval '3 hours') AT TIME ZONE 'UTC'
  FROM order_total AS t
  CROSS JOIN LATERAL generate_series(1, CASE WHEN t.split THEN 2 ELSE 1 END) AS part;

DROP TABLE order_total;
