-- Gives every grid of the draft a 15-digit code, and writes all areas.
-- Input: mg_out (admin areas), mg_child (grids: sid, parent =
-- community, geom), mg_src (grid sources), settings gridd.gen,
-- gridd.active (0: none), gridd.match_share, gridd.srid, gridd.row_band.
--
-- A grid keeps the code of the active generation's grid it matches (same
-- community, overlap ≥ match_share of both); else takes its source's code
-- when that is a well-formed code of its community that no activated
-- generation ever used for another grid; else gets the next sequence number
-- of its community, numbered in rows from north to south and west to east
-- within a row. Codes that any activated generation used are never issued
-- again.

DROP TABLE IF EXISTS mg_grid, mg_old, mg_used;

CREATE TEMP TABLE mg_grid AS
SELECT row_number() OVER (ORDER BY c.parent, c.sid)::int AS gid, c.sid, c.parent AS community, c.geom,
       pg_temp.m2(c.geom) AS area, ST_PointOnSurface(c.geom) AS anchor,
       s.code AS src_code, s.name AS src_name, s.is_new,
       s.households, s.population, s.src_area,
       row_number() OVER (PARTITION BY c.sid ORDER BY ST_Area(c.geom) DESC) AS piece,
       count(*) OVER (PARTITION BY c.sid) AS pieces,
       NULL::text AS code, ''::text AS how
FROM mg_child c JOIN mg_src s ON s.sid = c.sid;
CREATE INDEX ON mg_grid USING gist (geom);

-- Grids of the active generation, in the same metric CRS.
CREATE TEMP TABLE mg_old AS
SELECT code, parent_code AS community, geom
FROM areas WHERE generation = current_setting('gridd.active')::int AND level = 'grid';
CREATE INDEX ON mg_old USING gist (geom);

-- Every grid code any activated generation has used.
CREATE TEMP TABLE mg_used AS
SELECT DISTINCT a.code, a.parent_code AS community FROM areas a JOIN generations g ON g.id = a.generation
WHERE a.level = 'grid' AND g.activated_at IS NOT NULL;
CREATE INDEX ON mg_used (code);

-- 1. Matches with the active generation, best overlap first, one to one.
WITH pairs AS (
    SELECT g.gid, o.code, pg_temp.m2(ST_Intersection(g.geom, o.geom)) AS inter, g.area, pg_temp.m2(o.geom) AS old_area
    FROM mg_grid g JOIN mg_old o ON o.community = g.community AND ST_Intersects(o.geom, g.geom)
), ok AS (
    SELECT * FROM pairs
    WHERE inter >= current_setting('gridd.match_share')::float8 * area
      AND inter >= current_setting('gridd.match_share')::float8 * old_area
), best AS (
    SELECT DISTINCT ON (code) gid, code FROM (SELECT DISTINCT ON (gid) gid, code, inter FROM ok ORDER BY gid, inter DESC, code) x
    ORDER BY code, inter DESC, gid
)
UPDATE mg_grid g SET code = best.code, how = 'kept' FROM best WHERE best.gid = g.gid;

-- 2. The source's own code, for the largest piece of a source.
WITH claim AS (
    SELECT DISTINCT ON (g.src_code) g.gid, g.src_code
    FROM mg_grid g
    WHERE g.code IS NULL AND NOT g.is_new AND g.src_code ~ '^[0-9]{15}$' AND left(g.src_code, 12) = g.community
      AND right(g.src_code, 3) <> '000'
      AND NOT EXISTS (SELECT 1 FROM mg_grid t WHERE t.code = g.src_code)
      AND NOT EXISTS (SELECT 1 FROM mg_used u WHERE u.code = g.src_code)
    ORDER BY g.src_code, g.area DESC, g.gid
)
UPDATE mg_grid g SET code = claim.src_code, how = 'source' FROM claim WHERE claim.gid = g.gid;

-- 3. New sequence numbers after the highest ever used in the community.
WITH top AS (
    SELECT community, max(right(code, 3)::int) AS seq FROM (
        SELECT community, code FROM mg_used UNION ALL SELECT community, code FROM mg_grid WHERE code IS NOT NULL
    ) x GROUP BY community
), numbered AS (
    SELECT g.gid, g.community,
           coalesce(top.seq, 0) + row_number() OVER (PARTITION BY g.community
               ORDER BY floor(-ST_Y(g.anchor) * 111320 / current_setting('gridd.row_band')::float8), ST_X(g.anchor), g.gid) AS seq
    FROM mg_grid g LEFT JOIN top ON top.community = g.community
    WHERE g.code IS NULL
)
UPDATE mg_grid g SET code = n.community || lpad(n.seq::text, 3, '0'), how = 'new'
FROM numbered n WHERE n.gid = g.gid AND n.seq <= 999;

-- Names: the source's, marked for the smaller pieces of a split source;
-- new grids are named after their community.
UPDATE mg_grid g SET src_name = CASE
    WHEN g.is_new THEN coalesce((SELECT name FROM mg_out c WHERE c.code = g.community), '') || '新增网格' || right(g.code, 3)
    WHEN g.pieces > 1 AND g.piece > 1 THEN g.src_name || '（拆分' || g.piece || '）'
    ELSE g.src_name END
WHERE g.code IS NOT NULL;

-- Each admin area becomes exactly the union of its children, bottom up.
-- (Geometry is stored normalized: a union's vertex order depends on the
-- order rows arrive in, and identical merges must store identical areas.)
-- Cleaning ran top down, but snap rounding may have moved a parent's border
-- by a hair when its children were noded; rebuilt from the grids, every
-- level nests and covers exactly. (A community without grids keeps its own
-- shape.)
UPDATE mg_out o SET geom = u.g
FROM (SELECT community AS code, ST_Union(geom) AS g FROM mg_grid WHERE code IS NOT NULL GROUP BY community) u
WHERE o.level = 'community' AND o.code = u.code;
UPDATE mg_out o SET geom = u.g
FROM (SELECT parent_code AS code, ST_Union(geom) AS g FROM mg_out WHERE level = 'community' GROUP BY parent_code) u
WHERE o.level = 'street' AND o.code = u.code;
UPDATE mg_out o SET geom = u.g
FROM (SELECT parent_code AS code, ST_Union(geom) AS g FROM mg_out WHERE level = 'street' GROUP BY parent_code) u
WHERE o.level = 'district' AND o.code = u.code;

INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom, area_m2, review)
SELECT current_setting('gridd.gen')::int, level, code, name, parent_code, households, population,
       ST_Multi(ST_Normalize(geom)), pg_temp.m2(geom), ''
FROM mg_out;

INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom, area_m2, review)
SELECT current_setting('gridd.gen')::int, 'grid', code, src_name, community,
       CASE WHEN households IS NOT NULL AND src_area > 0 THEN round(households * least(1, area / src_area))::int END,
       CASE WHEN population IS NOT NULL AND src_area > 0 THEN round(population * least(1, area / src_area))::int END,
       ST_Multi(ST_Normalize(geom)), area,
       CASE WHEN is_new THEN 'new grid from a gap no departmental grid covers' ELSE '' END
FROM mg_grid WHERE code IS NOT NULL;

-- Size rules are judged after the buildings are assigned (sizes.go).
