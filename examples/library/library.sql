-- University library (after the DDB-Helper paper): one central database serving the
-- libraries of three Tunis engineering/science schools, ENIT, FST and FSEGT.
--
-- The data is generated deterministically (md5-based pseudo-random numbers over
-- generate_series), so every load yields exactly the same rows on PGlite and PostgreSQL.
-- The helper functions live in pg_temp and vanish with the session: the schema holds
-- only the five tables.
--
-- Invariant kept by the data: student.nb_borrow = number of the student's open loans
-- (return_date IS NULL), and it is never above 5.

CREATE FUNCTION pg_temp.rnd(key text) RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS
$$ SELECT ('x' || substr(md5(key), 1, 12))::bit(48)::bigint $$;

CREATE FUNCTION pg_temp.pick(items text[], key text) RETURNS text LANGUAGE sql IMMUTABLE STRICT AS
$$ SELECT items[1 + (pg_temp.rnd(key) % cardinality(items))::int] $$;

CREATE TABLE employee (
  nss        int PRIMARY KEY,
  fname      text NOT NULL,
  lname      text NOT NULL,
  address    text,
  status     text,
  assignment text NOT NULL CHECK (assignment IN ('ENIT', 'FST', 'FSEGT'))
);

CREATE TABLE student (
  nce         int PRIMARY KEY,
  fname       text NOT NULL,
  lname       text NOT NULL,
  address     text,
  institution text NOT NULL CHECK (institution IN ('ENIT', 'FST', 'FSEGT')),
  class       text,
  nb_borrow   int NOT NULL DEFAULT 0 CHECK (nb_borrow BETWEEN 0 AND 5)
);

CREATE TABLE book (
  id_book int PRIMARY KEY,
  title   text NOT NULL,
  editor  text,
  year    int,
  area    text,
  stock   int NOT NULL CHECK (stock >= 0),
  website text,
  site    text NOT NULL CHECK (site IN ('ENIT', 'FST', 'FSEGT'))
);

CREATE TABLE author (
  id_book  int NOT NULL REFERENCES book (id_book),
  au_lname text NOT NULL,
  au_fname text NOT NULL,
  PRIMARY KEY (id_book, au_lname, au_fname)
);

CREATE TABLE loan (
  id_book        int NOT NULL REFERENCES book (id_book),
  nce            int NOT NULL REFERENCES student (nce),
  date_borrowing date NOT NULL,
  return_date    date,
  PRIMARY KEY (id_book, nce, date_borrowing)
);

-- ---------------------------------------------------------------------------------------
-- Name pools (Tunisian first and last names, Tunis streets).
CREATE TEMPORARY TABLE pools AS SELECT
  ARRAY['Mohamed','Ahmed','Ali','Youssef','Amine','Walid','Karim','Sami','Hichem','Nizar',
        'Skander','Aymen','Bilel','Oussama','Mehdi','Fares','Hamza','Rami','Slim','Anis',
        'Fatma','Amira','Ines','Mariem','Sarra','Nour','Rim','Salma','Yasmine','Olfa',
        'Hiba','Emna','Asma','Khadija','Leila','Sonia','Rania','Wafa','Malek','Eya'] AS fnames,
  ARRAY['Ben Ali','Trabelsi','Gharbi','Jebali','Mejri','Hammami','Ayari','Bouazizi','Chaabane',
        'Dridi','Ferchichi','Gharsalli','Haddad','Jaziri','Khelifi','Labidi','Mabrouk','Nasri',
        'Ouni','Riahi','Saidi','Tlili','Zouari','Baccouche','Ben Salah','Chebbi','Dhaouadi',
        'Ellouze','Fourati','Guesmi','Hamdi','Kallel','Mahjoub','Mansour','Sfar','Toumi'] AS lnames,
  ARRAY['Rue de Marseille','Avenue Habib Bourguiba','Rue de Rome','Avenue de la Liberté',
        'Rue Ibn Khaldoun','Avenue Mohamed V','Rue d''Alger','Avenue de Carthage',
        'Rue de Palestine','Avenue Hedi Chaker','Rue du Lac Léman','Rue Charles de Gaulle'] AS streets,
  ARRAY['Tunis','Ariana','La Marsa','Le Bardo','Manouba','Ben Arous','El Menzah','Carthage',
        'La Soukra','Ezzahra'] AS towns,
  ARRAY['ENIT','FST','FSEGT'] AS sites;

-- 60 library employees, 20 per institution.
INSERT INTO employee (nss, fname, lname, address, status, assignment)
SELECT 1000 + g,
       pg_temp.pick(p.fnames, 'emp-f' || g),
       pg_temp.pick(p.lnames, 'emp-l' || g),
       (1 + pg_temp.rnd('emp-n' || g) % 120) || ' ' || pg_temp.pick(p.streets, 'emp-s' || g)
         || ', ' || pg_temp.pick(p.towns, 'emp-t' || g),
       pg_temp.pick(ARRAY['librarian','librarian','librarian','assistant','assistant',
                          'technician','archivist','head librarian'], 'emp-st' || g),
       p.sites[1 + (g - 1) % 3]
  FROM generate_series(1, 60) AS g, pools AS p;

-- 3000 students: ENIT 40 %, FST 35 %, FSEGT 25 %; nb_borrow is set from the loans below.
INSERT INTO student (nce, fname, lname, address, institution, class, nb_borrow)
SELECT 20230000 + g,
       pg_temp.pick(p.fnames, 'stu-f' || g),
       pg_temp.pick(p.lnames, 'stu-l' || g),
       CASE WHEN pg_temp.rnd('stu-a' || g) % 20 = 0 THEN NULL
            ELSE (1 + pg_temp.rnd('stu-n' || g) % 200) || ' ' || pg_temp.pick(p.streets, 'stu-s' || g)
                 || ', ' || pg_temp.pick(p.towns, 'stu-t' || g) END,
       s.inst,
       CASE s.inst
         WHEN 'ENIT'  THEN pg_temp.pick(ARRAY['1AGC','1AGE','1AGI','2AGC','2AGE','2AGI','3AGC','3AGE','3AGI','3ATEL'], 'stu-c' || g)
         WHEN 'FST'   THEN pg_temp.pick(ARRAY['L1-INFO','L2-INFO','L3-INFO','L1-MATH','L2-MATH','L3-PHYS','M1-INFO','M2-INFO'], 'stu-c' || g)
         ELSE              pg_temp.pick(ARRAY['L1-GEST','L2-GEST','L3-FIN','L3-MKT','L2-ECO','M1-FIN','M2-ACT'], 'stu-c' || g)
       END,
       0
  FROM generate_series(1, 3000) AS g
  CROSS JOIN pools AS p
  CROSS JOIN LATERAL (SELECT CASE WHEN pg_temp.rnd('stu-i' || g) % 100 < 40 THEN 'ENIT'
                                  WHEN pg_temp.rnd('stu-i' || g) % 100 < 75 THEN 'FST'
                                  ELSE 'FSEGT' END AS inst) AS s;

-- 2000 books; each library holds the books of its own disciplines most of the time.
INSERT INTO book (id_book, title, editor, year, area, stock, website, site)
SELECT g,
       pg_temp.pick(ARRAY['Introduction to','Fundamentals of','Advanced','Applied','Principles of',
                          'A Course in','Handbook of','Elements of','Modern','Practical'], 'bk-a' || g)
         || ' ' || a.topic
         || CASE WHEN pg_temp.rnd('bk-v' || g) % 4 = 0 THEN ' (' || (2 + pg_temp.rnd('bk-e' || g) % 5) || 'th ed.)' ELSE '' END,
       pg_temp.pick(ARRAY['Dunod','Eyrolles','Springer','Pearson','Wiley','Ellipses','Hermès',
                          'Cambridge University Press','MIT Press','O''Reilly','Economica','CPU Tunis'], 'bk-ed' || g),
       1975 + (pg_temp.rnd('bk-y' || g) % 50)::int,
       a.area,
       (pg_temp.rnd('bk-st' || g) % 13)::int,
       CASE WHEN pg_temp.rnd('bk-w' || g) % 3 = 0 THEN 'https://books.example.org/' || g ELSE NULL END,
       a.site
  FROM generate_series(1, 2000) AS g
  CROSS JOIN LATERAL (SELECT pg_temp.rnd('bk-ar' || g) % 9 AS k) AS r
  CROSS JOIN LATERAL (SELECT
       (ARRAY['Civil Engineering','Electrical Engineering','Computer Science','Mathematics','Physics',
              'Chemistry','Economics','Management','Finance'])[1 + r.k::int] AS area,
       (ARRAY['Structural Analysis','Power Systems','Algorithms','Linear Algebra','Quantum Mechanics',
              'Organic Chemistry','Microeconomics','Strategic Management','Corporate Finance'])[1 + r.k::int]
         || pg_temp.pick(ARRAY['',' and Applications',' for Engineers',' in Practice',' I',' II',': Theory and Problems'], 'bk-t' || g) AS topic,
       CASE WHEN pg_temp.rnd('bk-x' || g) % 10 = 0 THEN (ARRAY['ENIT','FST','FSEGT'])[1 + (pg_temp.rnd('bk-s' || g) % 3)::int]
            WHEN r.k < 3 THEN 'ENIT' WHEN r.k < 6 THEN 'FST' ELSE 'FSEGT' END AS site) AS a;

-- ≈3000 authors: every book has a first author, half of them a second one.
INSERT INTO author (id_book, au_lname, au_fname)
SELECT b.id_book, pg_temp.pick(x.lnames, 'au-l' || n || '-' || b.id_book), pg_temp.pick(x.fnames, 'au-f' || n || '-' || b.id_book)
  FROM book AS b
  CROSS JOIN generate_series(1, 2) AS n
  CROSS JOIN (SELECT ARRAY['Martin','Dupont','Bernard','Smith','Johnson','Knuth','Tanenbaum','Cormen','Strang',
                           'Feynman','Kotler','Mankiw','Brealey','Ullman','Date','Hibbeler','Chapman','Atkins',
                           'Ben Ammar','Mzali','Ghorbel','Bouzid','Kamoun','Ayadi','Lahmar','Sellami'] AS lnames,
                     ARRAY['Jean','Pierre','Marie','John','Robert','Donald','Andrew','Thomas','Gilbert',
                           'Richard','Philip','Gregory','Jeffrey','Christopher','Russell','Stephen','Peter',
                           'Mohamed','Hedi','Nadia','Samir','Leila','Moncef','Habib'] AS fnames) AS x
 WHERE n = 1 OR pg_temp.rnd('au-2-' || b.id_book) % 2 = 0
ON CONFLICT DO NOTHING;

-- ≈5000 loans between 2023-09-01 and 2025-06-14; 90 % at the student's own library.
CREATE TEMPORARY TABLE book_by_site AS
SELECT site, id_book, row_number() OVER (PARTITION BY site ORDER BY id_book) AS rn,
       count(*) OVER (PARTITION BY site) AS n
  FROM book;

INSERT INTO loan (id_book, nce, date_borrowing, return_date)
SELECT bs.id_book, s.nce, l.d,
       CASE WHEN l.d >= date '2025-04-15' AND pg_temp.rnd('ln-o' || g) % 100 < 45 THEN NULL
            ELSE LEAST(l.d + (3 + pg_temp.rnd('ln-r' || g) % 28)::int, date '2025-06-14') END
  FROM generate_series(1, 5000) AS g
  CROSS JOIN LATERAL (SELECT 20230001 + (pg_temp.rnd('ln-s' || g) % 3000)::int AS nce,
                             date '2023-09-01' + (pg_temp.rnd('ln-d' || g) % 652)::int AS d) AS l
  JOIN student AS s ON s.nce = l.nce
  CROSS JOIN LATERAL (SELECT CASE WHEN pg_temp.rnd('ln-x' || g) % 10 = 0
                                  THEN (ARRAY['ENIT','FST','FSEGT'])[1 + (pg_temp.rnd('ln-xs' || g) % 3)::int]
                                  ELSE s.institution END AS site) AS w
  JOIN (SELECT site, max(n) AS n FROM book_by_site GROUP BY site) AS c ON c.site = w.site
  JOIN book_by_site AS bs ON bs.site = w.site AND bs.rn = 1 + pg_temp.rnd('ln-b' || g) % c.n
ON CONFLICT DO NOTHING;

-- At most five open loans per student: close the oldest extra ones.
UPDATE loan AS l
   SET return_date = LEAST(l.date_borrowing + 14, date '2025-06-14')
  FROM (SELECT id_book, nce, date_borrowing,
               row_number() OVER (PARTITION BY nce ORDER BY date_borrowing DESC, id_book) AS k
          FROM loan WHERE return_date IS NULL) AS o
 WHERE o.k > 5 AND l.id_book = o.id_book AND l.nce = o.nce AND l.date_borrowing = o.date_borrowing;

UPDATE student AS s
   SET nb_borrow = o.open_loans
  FROM (SELECT nce, count(*)::int AS open_loans FROM loan WHERE return_date IS NULL GROUP BY nce) AS o
 WHERE o.nce = s.nce;

DROP TABLE book_by_site;
DROP TABLE pools;
