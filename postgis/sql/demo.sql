-- Generates the demo city inside one transaction, deterministically from
-- the seed in the setting gridd.seed (its layers credited with the setting
-- gridd.attribution). Input: the temporary tables
-- demo_input_district (code, name, geom, core: the urban centre, or NULL
-- for a point inside the district) and demo_input_divisions
-- (code, level, name, parent_code), filled by demo.go. Output: source
-- layers for the district, its streets and communities (no department) and
-- three departmental grid layers that disagree the way real ones do.
--
-- Work happens in UTM zone 51N (EPSG:32651, metres), which covers Ningbo.
-- Randomness comes from hashing (seed, key), never from random(), so the
-- result does not depend on the order in which rows are processed.

CREATE FUNCTION pg_temp.rnd(key text) RETURNS float8 LANGUAGE sql STABLE AS $$
    SELECT ('x' || substr(md5(current_setting('gridd.seed') || ':' || key), 1, 8))::bit(32)::bigint / 4294967296.0
$$;

CREATE FUNCTION pg_temp.seed(k int) RETURNS int LANGUAGE sql STABLE AS $$
    SELECT current_setting('gridd.seed')::int * 7919 % 1000003 + k
$$;

CREATE FUNCTION pg_temp.clean(g geometry) RETURNS geometry LANGUAGE sql IMMUTABLE AS $$
    SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3))
$$;

-- Voronoi cells of the points in pts, each clipped to area; one row per
-- point (by its ordinal in pts) with its cell.
CREATE FUNCTION pg_temp.cells(pts geometry, area geometry) RETURNS TABLE (i int, cell geometry) LANGUAGE sql STABLE AS $$
    WITH p AS (SELECT (d).path[1] AS i, (d).geom AS pt FROM ST_Dump(pts) d),
         v AS (SELECT (d).geom AS cell FROM ST_Dump(ST_VoronoiPolygons(pts, 0, ST_Expand(ST_Envelope(area), 1000))) d)
    SELECT p.i, pg_temp.clean(ST_Intersection(v.cell, area))
    FROM p JOIN v ON ST_Intersects(v.cell, p.pt)
    WHERE (SELECT count(*) FROM p) > 1
    UNION ALL
    SELECT p.i, area FROM p WHERE (SELECT count(*) FROM p) = 1
$$;

CREATE TEMP TABLE demo_district ON COMMIT DROP AS
SELECT code, name, pg_temp.clean(ST_RemoveRepeatedPoints(ST_Transform(ST_SetSRID(geom, 4326), 32651))) AS g
FROM demo_input_district;

-- Streets (街道, township codes 001-099) crowd the urban core; towns (镇)
-- share the rest, as in a real district.
CREATE TEMP TABLE demo_core ON COMMIT DROP AS
WITH c AS (
    SELECT ST_Buffer(coalesce(ST_Transform(ST_SetSRID(i.core, 4326), 32651), ST_PointOnSurface(d.g)), 9000) AS circle
    FROM demo_district d, demo_input_district i
)
SELECT ST_Intersection(d.g, c.circle) AS core, ST_Difference(d.g, c.circle) AS rural
FROM demo_district d, c;

CREATE TEMP TABLE demo_street ON COMMIT DROP AS
WITH s AS (
    SELECT code, name, substr(code, 7, 3)::int < 100 AS urban,
           row_number() OVER (PARTITION BY substr(code, 7, 3)::int < 100 ORDER BY code) AS k
    FROM demo_input_divisions WHERE level = 'street'
), pts AS (
    SELECT true AS urban, (d).path[1] AS k, (d).geom AS pt
    FROM demo_core, ST_Dump(ST_GeneratePoints(core, (SELECT count(*) FROM s WHERE urban)::int, pg_temp.seed(1))) d
    UNION ALL
    SELECT false, (d).path[1], (d).geom
    FROM demo_core, ST_Dump(ST_GeneratePoints(rural, (SELECT count(*) FROM s WHERE NOT urban)::int, pg_temp.seed(2))) d
), numbered AS (
    SELECT s.code, s.name, s.urban, pts.pt, row_number() OVER (ORDER BY s.code) AS i
    FROM s JOIN pts ON pts.urban = s.urban AND pts.k = s.k
)
SELECT n.code, n.name, n.urban, (SELECT code FROM demo_district) AS parent, c.cell AS g
FROM numbered n
JOIN pg_temp.cells((SELECT ST_Collect(pt ORDER BY i) FROM numbered), (SELECT g FROM demo_district)) c ON c.i = n.i;

CREATE TEMP TABLE demo_community ON COMMIT DROP AS
WITH c AS (
    SELECT code, name, parent_code, row_number() OVER (PARTITION BY parent_code ORDER BY code) AS i
    FROM demo_input_divisions WHERE level = 'community'
), s AS (
    SELECT st.code, st.g, st.urban, (SELECT count(*) FROM c WHERE c.parent_code = st.code)::int AS n,
           row_number() OVER (ORDER BY st.code)::int AS si
    FROM demo_street st
)
SELECT c.code, c.name, c.parent_code AS parent, s.urban, cl.cell AS g
FROM s
CROSS JOIN LATERAL pg_temp.cells(ST_GeneratePoints(s.g, s.n, pg_temp.seed(100 + s.si)), s.g) cl
JOIN c ON c.parent_code = s.code AND c.i = cl.i
WHERE s.n > 0;

-- The true basic grids: urban communities have more, smaller grids.
-- gridd.grid_scale multiplies their number (benchmarks make big cities).
CREATE TEMP TABLE demo_grid ON COMMIT DROP AS
WITH cm AS (
    SELECT code, name, g, urban, row_number() OVER (ORDER BY code)::int AS ci,
           greatest(1, round(current_setting('gridd.grid_scale')::float8 *
               CASE WHEN urban THEN 3 + floor(pg_temp.rnd('n' || code) * 6)
                    ELSE 1 + floor(pg_temp.rnd('n' || code) * 3) + least(3, floor(ST_Area(g) / 5e6)) END))::int AS n
    FROM demo_community
), cells AS (
    SELECT cm.code AS community, cm.name AS cname, cm.urban, cl.cell AS g,
           ST_PointOnSurface(cl.cell) AS anchor
    FROM cm CROSS JOIN LATERAL pg_temp.cells(ST_GeneratePoints(cm.g, cm.n, pg_temp.seed(10000 + cm.ci)), cm.g) cl
), seq AS (
    -- Sequence numbers run in rows from north to south, west to east within
    -- a row (rows 500 m high).
    SELECT *, row_number() OVER (PARTITION BY community ORDER BY floor(-ST_Y(anchor) / 500), ST_X(anchor)) AS s
    FROM cells
)
SELECT community || lpad(s::text, 3, '0') AS code, cname || '第' || s || '网格' AS name, community AS parent,
       urban, g,
       (CASE WHEN urban THEN 200 + floor(pg_temp.rnd('h' || community || s) * 420)
             ELSE 80 + floor(pg_temp.rnd('h' || community || s) * 300) END)::int AS households
FROM seq;

-- 综治: the grid centre's own layer, numbered by the standard, drawn over
-- the true grids by hand: every grid shifted by up to 8 m (overlaps and gaps
-- along every border), a few missing, a few swollen across community borders.
CREATE TEMP TABLE demo_zongzhi ON COMMIT DROP AS
SELECT code, name, parent, households,
       pg_temp.clean(CASE WHEN pg_temp.rnd('zb' || code) < 0.03 THEN ST_Buffer(g, 30, 'join=mitre')
                          ELSE ST_Translate(g, (pg_temp.rnd('zx' || code) - 0.5) * 16, (pg_temp.rnd('zy' || code) - 0.5) * 16) END) AS g
FROM demo_grid
WHERE pg_temp.rnd('zd' || code) >= 0.02;

-- 城管: coarser grids per street that ignore community borders, drawn 20 m
-- off, each cell grown or shrunk a little.
CREATE TEMP TABLE demo_chengguan ON COMMIT DROP AS
WITH st AS (
    SELECT s.code, s.name, s.g, row_number() OVER (ORDER BY s.code)::int AS si,
           greatest(1, ceil((SELECT count(*) FROM demo_community c WHERE c.parent = s.code) * 1.3))::int AS n
    FROM demo_street s
)
SELECT 'CG' || substr(st.code, 7, 3) || '-' || lpad(cl.i::text, 3, '0') AS code,
       st.name || '城管责任网格' || cl.i AS name, ''::text AS parent, NULL::int AS households,
       pg_temp.clean(ST_Buffer(ST_Translate(cl.cell, 20, -12), (pg_temp.rnd('cb' || st.code || cl.i) - 0.5) * 30)) AS g
FROM st CROSS JOIN LATERAL pg_temp.cells(ST_GeneratePoints(st.g, st.n, pg_temp.seed(20000 + st.si)), st.g) cl;

-- 党建: each community split into two or three party-building grids, on a
-- community outline drawn 15 m off.
CREATE TEMP TABLE demo_dangjian ON COMMIT DROP AS
WITH cm AS (
    SELECT code, name, ST_Translate(g, -15, 10) AS g, row_number() OVER (ORDER BY code)::int AS ci,
           (2 + floor(pg_temp.rnd('dj' || code) * 2))::int AS n
    FROM demo_community
)
SELECT 'DJ' || cm.code || lpad(cl.i::text, 2, '0') AS code, cm.name || '党建网格' || cl.i AS name,
       cm.code AS parent, NULL::int AS households, cl.cell AS g
FROM cm CROSS JOIN LATERAL pg_temp.cells(ST_GeneratePoints(cm.g, cm.n, pg_temp.seed(30000 + cm.ci)), cm.g) cl;

-- Store every layer as a source layer, version 1.
CREATE TEMP TABLE demo_layers (tbl text, dept text, level text, name text) ON COMMIT DROP;
INSERT INTO demo_layers VALUES
    ('demo_district',  NULL,        'district',  '演示 区界'),
    ('demo_street',    NULL,        'street',    '演示 街道/镇界'),
    ('demo_community', NULL,        'community', '演示 社区/村界'),
    ('demo_zongzhi',   'zongzhi',   'grid',      '演示 综治网格'),
    ('demo_chengguan', 'chengguan', 'grid',      '演示 城管网格'),
    ('demo_dangjian',  'dangjian',  'grid',      '演示 党建网格');

CREATE TEMP TABLE demo_all ON COMMIT DROP AS
          SELECT 'demo_district' AS tbl, code, name, ''::text AS parent, NULL::int AS households, g FROM demo_district
UNION ALL SELECT 'demo_street', code, name, parent, NULL, g FROM demo_street
UNION ALL SELECT 'demo_community', code, name, parent, NULL, g FROM demo_community
UNION ALL SELECT 'demo_zongzhi', code, name, parent, households, g FROM demo_zongzhi
UNION ALL SELECT 'demo_chengguan', code, name, parent, households, g FROM demo_chengguan
UNION ALL SELECT 'demo_dangjian', code, name, parent, households, g FROM demo_dangjian;

WITH ins AS (
    INSERT INTO source_layers (dept_code, level, version, name, file_name, source_srs, encoding, attribution, feature_count, report)
    SELECT l.dept, l.level, 1, l.name, 'gridd demo --seed ' || current_setting('gridd.seed'), 'EPSG:4326', 'UTF-8', current_setting('gridd.attribution'),
           (SELECT count(*) FROM demo_all a WHERE a.tbl = l.tbl AND NOT ST_IsEmpty(a.g)),
           jsonb_build_object('synthetic', l.level <> 'district', 'seed', current_setting('gridd.seed')::int)
    FROM demo_layers l
    RETURNING id, dept_code, level
)
INSERT INTO source_features (layer_id, fid, code, name, parent_code, households, population, props, geom)
SELECT ins.id, row_number() OVER (PARTITION BY ins.id ORDER BY a.code)::int, a.code, a.name, a.parent, a.households,
       (a.households * (2.3 + pg_temp.rnd('p' || a.code) * 0.8))::int, '{}'::jsonb,
       ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Transform(a.g, 4326)), 3))
FROM demo_all a
JOIN demo_layers l ON l.tbl = a.tbl
JOIN ins ON ins.level = l.level AND ins.dept_code IS NOT DISTINCT FROM l.dept
WHERE NOT ST_IsEmpty(a.g);
