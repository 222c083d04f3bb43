-- Cleans one level of the unified coverage into a partition of its parents.
--
-- Input (temporary tables, lon/lat; lengths and areas are measured in
-- metres by pg_temp.m2/mlen/mper in the UTM zone gridd.srid):
--   mg_src(sid, code, name, parent_code, households, population, geom)
--       the source polygons of this level, valid, snapped to the grid size;
--   mg_parent(code, geom)
--       the cleaned parent areas (for districts: one row, code '', the
--       union of the sources with small enclosed holes filled).
-- Settings: gridd.grid_size (degrees), gridd.sliver_area (m²), gridd.sliver_width
--   (m, mean width 2A/P), gridd.gap_new_area (m², grid level only),
--   gridd.by_location ('1': a source belongs to whatever parent it lies in,
--   as grids do; '0': only to the parent its code names, as admin areas do).
-- Output: mg_child(sid, parent, geom, households, population) and rows in
--   mg_decision(kind, code, other, parent, area, geom) for the report.
--
-- Method: all boundaries (sources and parents) are noded together and
-- polygonized into faces, so every face lies wholly inside or outside each
-- source and each parent. Each face is then given to exactly one child:
--   covered by one source of its parent   -> that source;
--   covered by several (overlap)          -> a source at home in the face's
--       parent (where most of its area lies) before an intruder, then the
--       one covering the larger share of the connected overlap zone, then
--       the one whose own area borders the face longest, then the smaller
--       code;
--   covered by none (gap)                 -> the whole connected gap goes to
--       the neighbour with the longest shared border (at grid level a gap of
--       gap_new_area or more becomes a new grid flagged for review);
-- and finally detached pieces of a child that are slivers (small or thin)
-- go, with any slivers they touch, to the neighbour they border longest. Because every child is a union
-- of faces of one arrangement, neighbours share borders exactly.

DROP TABLE IF EXISTS mg_rulings, mg_faces, mg_fparent, mg_cand, mg_home, mg_assign, mg_ov, mg_gap, mg_gapc, mg_child0, mg_parts, mg_slvz, mg_slv, mg_rest, mg_child1, mg_child;

CREATE TEMP TABLE mg_faces AS
WITH lines AS (
    SELECT ST_Boundary(geom) AS g FROM mg_src
    UNION ALL SELECT ST_Boundary(geom) FROM mg_parent
), faces AS (
    SELECT (ST_Dump(ST_Polygonize(u))).geom AS geom
    FROM (SELECT ST_UnaryUnion(ST_Collect(g), current_setting('gridd.grid_size')::float8) AS u FROM lines) x
)
SELECT row_number() OVER (ORDER BY ST_X(a), ST_Y(a))::int AS fid, geom, pg_temp.m2(geom) AS area, a AS anchor
FROM (SELECT geom, ST_PointOnSurface(geom) AS a FROM faces WHERE ST_Area(geom) > 0) f;
CREATE INDEX ON mg_faces USING gist (anchor);
ANALYZE mg_faces;

-- Which parent and which sources each face lies in. The anchor point
-- answers for ordinary faces; for thin ones (mean width under 0.5 m, where
-- the anchor may land a hair outside the face) the largest overlap does.
-- Faces outside every parent are outside the coverage and dropped.
ALTER TABLE mg_faces ADD COLUMN thin boolean;
UPDATE mg_faces SET thin = 2 * area / nullif(pg_temp.mper(geom), 0) < 0.5;

CREATE TEMP TABLE mg_fparent AS
SELECT f.fid, p.code AS parent
FROM mg_faces f JOIN mg_parent p ON ST_Intersects(p.geom, f.anchor)
WHERE NOT f.thin
UNION ALL
SELECT fid, parent FROM (
    SELECT DISTINCT ON (f.fid) f.fid, p.code AS parent, pg_temp.m2(ST_Intersection(p.geom, f.geom)) AS a, f.area
    FROM mg_faces f JOIN mg_parent p ON ST_Intersects(p.geom, f.geom)
    WHERE f.thin
    ORDER BY f.fid, a DESC
) x WHERE a > 0.5 * area;

CREATE TEMP TABLE mg_cand AS
SELECT fp.fid, fp.parent, s.sid
FROM mg_fparent fp
JOIN mg_faces f USING (fid)
LEFT JOIN mg_src s ON ST_Intersects(s.geom, f.anchor)
    AND (current_setting('gridd.by_location') = '1' OR s.parent_code = fp.parent)
WHERE NOT f.thin
UNION ALL
SELECT fp.fid, fp.parent, s.sid
FROM mg_fparent fp
JOIN mg_faces f USING (fid)
LEFT JOIN mg_src s ON ST_Intersects(s.geom, f.geom) AND pg_temp.m2(ST_Intersection(s.geom, f.geom)) > 0.5 * f.area
    AND (current_setting('gridd.by_location') = '1' OR s.parent_code = fp.parent)
WHERE f.thin;
CREATE INDEX ON mg_cand (fid);

-- Each source's home: the parent holding most of its area.
CREATE TEMP TABLE mg_home AS
SELECT DISTINCT ON (c.sid) c.sid, c.parent
FROM mg_cand c JOIN mg_faces f USING (fid) WHERE c.sid IS NOT NULL
GROUP BY c.sid, c.parent ORDER BY c.sid, sum(f.area) DESC, c.parent;

CREATE TEMP TABLE mg_assign (fid int PRIMARY KEY, sid int NOT NULL, parent text NOT NULL, how text NOT NULL,
                             rule text, ruling bigint);

-- Standing decisions of GIS staff on disputed pieces of this level (a
-- transfer once its day has come): a face of an overlap, or a gap, lying
-- in one goes to the area decided when that area is one that could hold it.
CREATE TEMP TABLE mg_rulings AS
SELECT id, to_code, geom FROM border_decisions
WHERE superseded_by IS NULL AND level = current_setting('gridd.level')
  AND (action <> 'transfer' OR effective_on <= current_date);
CREATE INDEX ON mg_rulings USING gist (geom);

INSERT INTO mg_assign
SELECT fid, min(sid), min(parent), 'own' FROM mg_cand GROUP BY fid HAVING count(sid) = 1 AND count(*) = 1;

-- Overlaps: faces with several candidates, grouped into connected zones.
CREATE TEMP TABLE mg_ov AS
SELECT f.fid, f.geom, f.area, c.parent, ST_ClusterDBSCAN(f.geom, 0, 1) OVER (PARTITION BY c.parent) AS zone
FROM mg_faces f JOIN (SELECT fid, min(parent) AS parent FROM mg_cand GROUP BY fid HAVING count(sid) > 1) c USING (fid);

WITH own AS (
    SELECT a.sid, a.parent, ST_Union(f.geom) AS geom
    FROM mg_assign a JOIN mg_faces f USING (fid)
    WHERE a.sid IN (SELECT sid FROM mg_cand WHERE fid IN (SELECT fid FROM mg_ov))
    GROUP BY a.sid, a.parent
), share AS (
    SELECT o.parent, o.zone, c.sid, sum(o.area) AS covered
    FROM mg_ov o JOIN mg_cand c USING (fid) GROUP BY o.parent, o.zone, c.sid
), scored AS (
    SELECT o.fid, o.parent, c.sid, h.parent = o.parent AS at_home, sh.covered,
           coalesce(pg_temp.mlen(ST_Intersection(ST_Boundary(o.geom), own.geom)), 0) AS border, s.code
    FROM mg_ov o
    JOIN mg_cand c USING (fid)
    JOIN share sh ON sh.parent = o.parent AND sh.zone = o.zone AND sh.sid = c.sid
    JOIN mg_src s ON s.sid = c.sid
    JOIN mg_home h ON h.sid = c.sid
    LEFT JOIN own ON own.sid = c.sid AND own.parent = o.parent
), ruled AS (
    SELECT sc.*, round(sc.covered::numeric, 3) AS cov, round(sc.border::numeric, 3) AS bord,
           (SELECT max(r.id) FROM mg_rulings r JOIN mg_faces f ON f.fid = sc.fid
            WHERE r.to_code = sc.code AND ST_Intersects(r.geom, f.anchor)) AS ruling
    FROM scored sc
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY fid ORDER BY ruling IS NOT NULL DESC, at_home DESC, cov DESC, bord DESC, code, sid) AS rn
    FROM ruled
)
-- The rule that decided is the first key on which the winner beats the
-- runner-up.
INSERT INTO mg_assign
SELECT w.fid, w.sid, w.parent, 'overlap',
       CASE WHEN w.ruling IS NOT NULL THEN 'decision' WHEN w.at_home AND NOT r.at_home THEN 'home'
            WHEN w.cov > r.cov THEN 'larger_share' WHEN w.bord > r.bord THEN 'longer_border' ELSE 'smaller_code' END,
       w.ruling
FROM ranked w JOIN ranked r ON r.fid = w.fid AND r.rn = 2 WHERE w.rn = 1;

-- One decision per zone, winner and set of areas covering: where one
-- area spills into several neighbours, each neighbour's piece is its own
-- decision (and dispute).
WITH sig AS (
    SELECT fid, array_agg(sid ORDER BY sid) AS sids FROM mg_cand WHERE fid IN (SELECT fid FROM mg_ov) GROUP BY fid
), z AS (
    SELECT o.parent, o.zone, a.sid, g.sids, sum(o.area) AS area, ST_Union(o.geom) AS geom,
           (array_agg(a.rule ORDER BY o.area DESC))[1] AS rule, max(a.ruling) AS ruling
    FROM mg_ov o JOIN mg_assign a USING (fid) JOIN sig g USING (fid) GROUP BY o.parent, o.zone, a.sid, g.sids
), d AS (
    SELECT 'overlap' AS kind, s.code,
           coalesce((SELECT string_agg(s2.code, ',' ORDER BY s2.code) FROM mg_src s2
                     WHERE s2.sid = ANY(z.sids) AND s2.sid <> z.sid), '') AS other,
           z.parent, z.area, z.geom, z.rule, z.ruling
    FROM z JOIN mg_src s ON s.sid = z.sid
)
INSERT INTO mg_decision (kind, code, other, parent, area, geom, rule, rivals, ruling)
SELECT kind, code, other, parent, area, geom, rule, other, ruling FROM d;

-- Gaps: faces inside a parent that no source of that parent covers,
-- merged into connected gaps.
CREATE TEMP TABLE mg_gap AS
SELECT f.fid, f.geom, f.area, c.parent, ST_ClusterDBSCAN(f.geom, 0, 1) OVER (PARTITION BY c.parent) AS zone
FROM mg_faces f JOIN (SELECT fid, min(parent) AS parent FROM mg_cand GROUP BY fid HAVING count(sid) = 0) c USING (fid);

CREATE TEMP TABLE mg_gapc AS
SELECT *, ST_PointOnSurface(geom) AS anchor FROM (
    SELECT parent, zone, ST_Union(geom) AS geom, sum(area) AS area, array_agg(fid) AS fids
    FROM mg_gap GROUP BY parent, zone) g;

CREATE TEMP TABLE mg_child0 AS
SELECT a.sid, a.parent, ST_Union(f.geom) AS geom
FROM mg_assign a JOIN mg_faces f USING (fid) GROUP BY a.sid, a.parent;
CREATE INDEX ON mg_child0 USING gist (geom);

-- Large gaps in a community become new grids (negative sids).
DROP TABLE IF EXISTS mg_newgrid;
CREATE TEMP TABLE mg_newgrid AS
SELECT -row_number() OVER (ORDER BY parent, ST_Y(ST_PointOnSurface(geom)) DESC, ST_X(ST_PointOnSurface(geom)))::int AS sid,
       parent, fids, area, geom
FROM mg_gapc
WHERE current_setting('gridd.by_location') = '1' AND area >= current_setting('gridd.gap_new_area')::float8;

INSERT INTO mg_src (sid, code, name, parent_code, geom, is_new)
SELECT sid, '', '', parent, geom, true FROM mg_newgrid;
INSERT INTO mg_assign SELECT unnest(fids), sid, parent, 'new' FROM mg_newgrid;
INSERT INTO mg_decision (kind, code, other, parent, area, geom)
SELECT 'new_grid', '', '', parent, area, geom FROM mg_newgrid;

-- A gap goes to a standing decision's area, else to the neighbour it
-- borders longest.
WITH nb AS (
    SELECT g.parent, g.zone, g.fids, g.area, g.geom, ch.sid, s.code,
           pg_temp.mlen(ST_Intersection(ST_Boundary(g.geom), ch.geom)) AS border,
           (SELECT max(r.id) FROM mg_rulings r WHERE r.to_code = s.code AND ST_Intersects(r.geom, g.anchor)) AS ruling
    FROM mg_gapc g
    JOIN mg_child0 ch ON ch.parent = g.parent AND ST_Intersects(ch.geom, g.geom)
    JOIN mg_src s ON s.sid = ch.sid
    WHERE NOT EXISTS (SELECT 1 FROM mg_assign a WHERE a.fid = g.fids[1])
), ranked AS (
    SELECT *, row_number() OVER (PARTITION BY parent, zone ORDER BY ruling IS NOT NULL DESC, border DESC, sid) AS rn,
           count(*) OVER (PARTITION BY parent, zone) AS n
    FROM nb WHERE border > 0
), best AS (
    SELECT b.*, CASE WHEN b.ruling IS NOT NULL THEN 'decision' WHEN b.n = 1 THEN 'only_neighbour' ELSE 'longest_border' END AS rule,
           coalesce((SELECT string_agg(o.code, ',' ORDER BY o.rn) FROM ranked o WHERE o.parent = b.parent AND o.zone = b.zone AND o.rn > 1), '') AS rivals
    FROM ranked b WHERE b.rn = 1
), ins AS (
    INSERT INTO mg_assign SELECT unnest(fids), sid, parent, 'gap', rule, ruling FROM best
    RETURNING 1
)
INSERT INTO mg_decision (kind, code, other, parent, area, geom, rule, rivals, ruling)
SELECT 'gap', code, '', parent, area, geom, rule, rivals, ruling FROM best;

INSERT INTO mg_decision (kind, code, other, parent, area, geom)
SELECT 'uncovered', '', '', g.parent, g.area, g.geom
FROM mg_gapc g WHERE NOT EXISTS (SELECT 1 FROM mg_assign a WHERE a.fid = g.fids[1]);

-- Children before sliver absorption, split into their connected parts.
DROP TABLE mg_child0;
CREATE TEMP TABLE mg_child0 AS
SELECT a.sid, a.parent, ST_Union(f.geom) AS geom
FROM mg_assign a JOIN mg_faces f USING (fid) GROUP BY a.sid, a.parent;

CREATE TEMP TABLE mg_parts AS
SELECT sid, parent, part, geom, area, width,
       row_number() OVER (PARTITION BY sid, parent ORDER BY area DESC, part) AS rank_in_child,
       sum(area) OVER (PARTITION BY sid, parent) AS child_area,
       max(child_area) OVER (PARTITION BY sid) AS largest_child_of_source
FROM (
    SELECT c.sid, c.parent, coalesce(d.path[1], 1) AS part, d.geom, pg_temp.m2(d.geom) AS area,
           2 * pg_temp.m2(d.geom) / nullif(pg_temp.mper(d.geom), 0) AS width, c.child_area
    FROM (SELECT *, pg_temp.m2(geom) AS child_area FROM mg_child0) c, ST_Dump(c.geom) d
) x;
CREATE INDEX ON mg_parts USING gist (geom);

-- A sliver is a detached small or thin part of a child, or (grid level) a
-- small or thin piece a source left in another parent than its main one.
ALTER TABLE mg_parts ADD COLUMN sliver boolean;
UPDATE mg_parts SET sliver =
    (rank_in_child > 1 AND (area < current_setting('gridd.sliver_area')::float8 OR width < current_setting('gridd.sliver_width')::float8))
    OR (current_setting('gridd.by_location') = '1' AND child_area < largest_child_of_source
        AND (child_area < current_setting('gridd.sliver_area')::float8 OR width < current_setting('gridd.sliver_width')::float8))
    -- With the overlay strategy every source is a cell of the refinement,
    -- and a cell that is itself a sliver goes to its neighbours.
    OR (current_setting('gridd.absorb_sources') = '1'
        AND (child_area < current_setting('gridd.sliver_area')::float8 OR width < current_setting('gridd.sliver_width')::float8));

-- Slivers that share an edge (where several intruders meet) move
-- together, to the non-sliver neighbour bordering them longest. Slivers
-- touching only at a corner move apart: moved together, the one reaching
-- its new owner only through the corner would be left detached there.
CREATE TEMP TABLE mg_slvz AS
SELECT parent, row_number() OVER () AS zone, d.geom
FROM (SELECT parent, ST_Union(geom) AS geom FROM mg_parts WHERE sliver GROUP BY parent) u, ST_Dump(u.geom) d;
CREATE INDEX ON mg_slvz USING gist (geom);
CREATE TEMP TABLE mg_slv AS
SELECT DISTINCT ON (p.sid, p.parent, p.part) p.sid, p.parent, p.part, p.area, p.geom, z.zone
FROM mg_parts p JOIN mg_slvz z ON z.parent = p.parent AND ST_Intersects(z.geom, ST_PointOnSurface(p.geom))
WHERE p.sliver
ORDER BY p.sid, p.parent, p.part, z.zone;

CREATE TEMP TABLE mg_child AS
WITH zones AS (
    SELECT parent, zone, ST_Union(geom) AS geom FROM mg_slv GROUP BY parent, zone
), target AS (
    SELECT DISTINCT ON (z.parent, z.zone) z.parent, z.zone, n.sid AS to_sid,
           pg_temp.mlen(ST_Intersection(ST_Boundary(z.geom), n.geom)) AS border
    FROM zones z
    JOIN mg_parts n ON n.parent = z.parent AND NOT n.sliver AND ST_Intersects(n.geom, z.geom)
    ORDER BY z.parent, z.zone, border DESC, n.sid
), moved AS (
    SELECT s.sid, s.parent, s.part, s.area, s.geom, t.to_sid
    FROM mg_slv s JOIN target t ON t.parent = s.parent AND t.zone = s.zone
    WHERE t.border > 0
), decided AS (
    INSERT INTO mg_decision (kind, code, other, parent, area, geom)
    SELECT 'sliver', t.code, f.code, m.parent, m.area, m.geom
    FROM moved m JOIN mg_src t ON t.sid = m.to_sid JOIN mg_src f ON f.sid = m.sid
    RETURNING 1
), pieces AS (
    SELECT p.sid, p.parent, p.geom FROM mg_parts p
    WHERE NOT EXISTS (SELECT 1 FROM moved m WHERE m.sid = p.sid AND m.parent = p.parent AND m.part = p.part)
    UNION ALL
    SELECT to_sid, parent, geom FROM moved
)
SELECT sid, parent, ST_Multi(ST_Union(geom)) AS geom FROM pieces GROUP BY sid, parent;

-- A last look: a detached part still smaller than a sliver (its sliver
-- zone reached the new owner only at a corner), or at grid level a whole
-- child under 1 m² (numerical dust where borders nearly meet), goes to
-- the neighbour of another child in its parent bordering it longest —
-- touching at a point if nothing borders it — so that no area keeps a
-- crumb and no crumb becomes a grid with a code.
CREATE TEMP TABLE mg_rest AS
SELECT c.sid, c.parent, coalesce(d.path[1], 1) AS part, d.geom, pg_temp.m2(d.geom) AS area,
       row_number() OVER (PARTITION BY c.sid, c.parent ORDER BY pg_temp.m2(d.geom) DESC, d.path[1]) AS rank_in_child,
       pg_temp.m2(c.geom) AS child_area
FROM mg_child c, ST_Dump(c.geom) d;
CREATE INDEX ON mg_rest USING gist (geom);
ALTER TABLE mg_rest ADD COLUMN stray boolean;
UPDATE mg_rest SET stray = (rank_in_child > 1 AND area < current_setting('gridd.sliver_area')::float8)
    OR (current_setting('gridd.by_location') = '1' AND child_area < 1);

DROP TABLE IF EXISTS mg_child1;
CREATE TEMP TABLE mg_child1 AS
WITH target AS (
    SELECT DISTINCT ON (s.sid, s.parent, s.part) s.sid, s.parent, s.part, s.area, s.geom, n.sid AS to_sid
    FROM mg_rest s
    JOIN mg_rest n ON n.parent = s.parent AND n.sid <> s.sid AND NOT n.stray AND ST_Intersects(n.geom, s.geom)
    WHERE s.stray
    ORDER BY s.sid, s.parent, s.part, pg_temp.mlen(ST_Intersection(ST_Boundary(s.geom), n.geom)) DESC, n.area DESC, n.sid
), decided AS (
    INSERT INTO mg_decision (kind, code, other, parent, area, geom)
    SELECT 'sliver', t.code, f.code, m.parent, m.area, m.geom
    FROM target m JOIN mg_src t ON t.sid = m.to_sid JOIN mg_src f ON f.sid = m.sid
    RETURNING 1
), touched AS (
    SELECT sid, parent FROM target UNION SELECT to_sid, parent FROM target
), pieces AS (
    SELECT r.sid, r.parent, r.geom FROM mg_rest r JOIN touched USING (sid, parent)
    WHERE NOT EXISTS (SELECT 1 FROM target m WHERE m.sid = r.sid AND m.parent = r.parent AND m.part = r.part)
    UNION ALL
    SELECT to_sid, parent, geom FROM target
)
-- Only the children that lose or gain a part are united again, so that
-- the others' borders stay exactly as they were.
SELECT sid, parent, ST_Multi(ST_Union(geom)) AS geom FROM pieces GROUP BY sid, parent
UNION ALL
SELECT c.sid, c.parent, c.geom FROM mg_child c
WHERE NOT EXISTS (SELECT 1 FROM target m WHERE (m.sid = c.sid OR m.to_sid = c.sid) AND m.parent = c.parent);
DROP TABLE mg_child;
ALTER TABLE mg_child1 RENAME TO mg_child;
