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

DROP TABLE IF EXISTS mg_faces, mg_fparent, mg_cand, mg_home, mg_assign, mg_ov, mg_gap, mg_gapc, mg_child0, mg_parts, mg_slv, mg_child;

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

CREATE TEMP TABLE mg_assign (fid int PRIMARY KEY, sid int NOT NULL, parent text NOT NULL, how text NOT NULL);

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
)
INSERT INTO mg_assign
SELECT DISTINCT ON (fid) fid, sid, parent, 'overlap'
FROM scored ORDER BY fid, at_home DESC, round(covered::numeric, 3) DESC, round(border::numeric, 3) DESC, code, sid;

WITH z AS (
    SELECT o.parent, o.zone, a.sid, array_agg(o.fid) AS fids, sum(o.area) AS area, ST_Union(o.geom) AS geom
    FROM mg_ov o JOIN mg_assign a USING (fid) GROUP BY o.parent, o.zone, a.sid
)
INSERT INTO mg_decision (kind, code, other, parent, area, geom)
SELECT 'overlap', s.code,
       coalesce((SELECT string_agg(DISTINCT s2.code, ',') FROM mg_cand c2 JOIN mg_src s2 ON s2.sid = c2.sid
                 WHERE c2.fid = ANY(z.fids) AND c2.sid <> z.sid), ''),
       z.parent, z.area, z.geom
FROM z JOIN mg_src s ON s.sid = z.sid;

-- Gaps: faces inside a parent that no source of that parent covers,
-- merged into connected gaps.
CREATE TEMP TABLE mg_gap AS
SELECT f.fid, f.geom, f.area, c.parent, ST_ClusterDBSCAN(f.geom, 0, 1) OVER (PARTITION BY c.parent) AS zone
FROM mg_faces f JOIN (SELECT fid, min(parent) AS parent FROM mg_cand GROUP BY fid HAVING count(sid) = 0) c USING (fid);

CREATE TEMP TABLE mg_gapc AS
SELECT parent, zone, ST_Union(geom) AS geom, sum(area) AS area, array_agg(fid) AS fids
FROM mg_gap GROUP BY parent, zone;

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

WITH best AS (
    SELECT DISTINCT ON (g.parent, g.zone) g.parent, g.zone, g.fids, g.area, g.geom, ch.sid,
           pg_temp.mlen(ST_Intersection(ST_Boundary(g.geom), ch.geom)) AS border
    FROM mg_gapc g
    JOIN mg_child0 ch ON ch.parent = g.parent AND ST_Intersects(ch.geom, g.geom)
    WHERE NOT EXISTS (SELECT 1 FROM mg_assign a WHERE a.fid = g.fids[1])
    ORDER BY g.parent, g.zone, border DESC, ch.sid
), ins AS (
    INSERT INTO mg_assign SELECT unnest(fids), sid, parent, 'gap' FROM best WHERE border > 0
    RETURNING 1
)
INSERT INTO mg_decision (kind, code, other, parent, area, geom)
SELECT 'gap', s.code, '', b.parent, b.area, b.geom FROM best b JOIN mg_src s ON s.sid = b.sid WHERE b.border > 0;

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

-- Slivers that touch each other (where several intruders meet in a corner)
-- move together, to the non-sliver neighbour bordering them longest.
CREATE TEMP TABLE mg_slv AS
SELECT sid, parent, part, area, geom, ST_ClusterDBSCAN(geom, 0, 1) OVER (PARTITION BY parent) AS zone
FROM mg_parts WHERE sliver;

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
