-- Splits the grids whose buildings mg_rb_part divides into parts.
-- Each building point gets its Voronoi cell within the grid; a part is the
-- union of its buildings' cells, with its own footprints added and the
-- other parts' taken away, so that no building is cut. The last part is
-- the rest of the grid, so the parts cover the grid without a gap. The
-- grid's outer border is kept exactly (see below). Each part becomes a grid of its own: a new source row (no code
-- of its own, so it is numbered by the usual rule) in its community.

CREATE TEMP TABLE mg_rb_cells AS
WITH pts AS (
    SELECT p.rb, p.part, b.pt FROM mg_rb_part p JOIN mg_rb_bld b ON b.id = p.id
), vor AS (
    SELECT c.rb, (ST_Dump(ST_VoronoiPolygons(ST_Collect(pts.pt), 0, c.geom))).geom AS cell
    FROM mg_child c JOIN pts ON pts.rb = c.rb
    GROUP BY c.rb, c.geom
)
SELECT v.rb, x.part, v.cell
FROM vor v CROSS JOIN LATERAL (
    SELECT pts.part FROM pts WHERE pts.rb = v.rb AND ST_Intersects(v.cell, pts.pt) ORDER BY pts.part LIMIT 1) x;

CREATE TEMP TABLE mg_rb_fp AS
SELECT p.rb, p.part, ST_CollectionExtract(ST_Intersection(c.geom, bb.geom), 3) AS f
FROM mg_rb_part p
JOIN mg_rb_bld b ON b.id = p.id AND b.footprint
JOIN buildings bb ON bb.id = p.id
JOIN mg_child c ON c.rb = p.rb;

-- The cells of a part are united on the merge's grid; the part is then cut
-- from the grid by exact overlay, so that the grid's outer border (shared
-- with grids not rebalanced) stays exactly as it was, and two parts cut
-- from one shared cell edge get the same vertices.
CREATE TEMP TABLE mg_rb_geom AS
SELECT u.rb, u.part, max(u.part) OVER (PARTITION BY u.rb) AS last,
       ST_CollectionExtract(ST_Intersection(c.geom, u.g), 3) AS geom
FROM (SELECT rb, part, ST_UnaryUnion(ST_Collect(ST_ReducePrecision(cell, current_setting('gridd.grid_size')::float8)),
                                     current_setting('gridd.grid_size')::float8) AS g
      FROM mg_rb_cells GROUP BY rb, part) u
JOIN mg_child c ON c.rb = u.rb;

UPDATE mg_rb_geom g SET geom = ST_CollectionExtract(ST_Difference(
        ST_Union(g.geom, coalesce(own.f, ST_SetSRID('POLYGON EMPTY'::geometry, ST_SRID(g.geom)))),
        coalesce(other.f, ST_SetSRID('POLYGON EMPTY'::geometry, ST_SRID(g.geom)))), 3)
FROM mg_rb_geom g2
LEFT JOIN LATERAL (SELECT ST_UnaryUnion(ST_Collect(f)) AS f FROM mg_rb_fp WHERE rb = g2.rb AND part = g2.part) own ON true
LEFT JOIN LATERAL (SELECT ST_UnaryUnion(ST_Collect(f)) AS f FROM mg_rb_fp WHERE rb = g2.rb AND part <> g2.part) other ON true
WHERE g.rb = g2.rb AND g.part = g2.part AND g.part < g.last;

UPDATE mg_rb_geom g SET geom = ST_CollectionExtract(ST_Difference(c.geom, o.g), 3)
FROM mg_child c,
     LATERAL (SELECT ST_UnaryUnion(ST_Collect(x.geom)) AS g FROM mg_rb_geom x WHERE x.rb = c.rb AND x.part < x.last) o
WHERE g.rb = c.rb AND g.part = g.last;
DELETE FROM mg_rb_geom WHERE geom IS NULL OR ST_IsEmpty(geom);

-- The parts replace their grid: new source rows after the highest sid.
CREATE TEMP TABLE mg_rb_new AS
SELECT g.rb, g.part, (SELECT max(sid) FROM mg_src) + row_number() OVER (ORDER BY g.rb, g.part)::int AS sid, c.sid AS old_sid, c.parent, g.geom
FROM mg_rb_geom g JOIN mg_child c ON c.rb = g.rb;
INSERT INTO mg_src (sid, code, name, parent_code, households, population, src_area, geom)
SELECT n.sid, '', s.name || '-' || (n.part + 1), s.parent_code, s.households, s.population, s.src_area, n.geom
FROM mg_rb_new n JOIN mg_src s ON s.sid = n.old_sid;
DELETE FROM mg_child c WHERE EXISTS (SELECT 1 FROM mg_rb_new n WHERE n.rb = c.rb);
INSERT INTO mg_child (sid, parent, geom, rb)
SELECT sid, parent, ST_Multi(geom), NULL FROM mg_rb_new;
-- Where a cut meets the grid's outer border it makes a vertex the
-- neighbour across does not have, and the parts are not on the merge's
-- grid. So the parts, the grids around them and the grids around those
-- are noded again together on that grid (as merge_level.sql does for the
-- whole level) and rebuilt from the faces: neighbours share their borders
-- vertex for vertex again. The outer ring only anchors the border with
-- the grids beyond, which stays as it was.
CREATE TEMP TABLE mg_rb_ring AS
SELECT DISTINCT c.sid, c.parent FROM mg_child c JOIN mg_rb_new nv ON ST_Intersects(c.geom, nv.geom);
CREATE TEMP TABLE mg_rb_set AS
SELECT DISTINCT ON (c.sid, c.parent) c.sid, c.parent, c.geom
FROM mg_child c JOIN mg_child t ON ST_Intersects(c.geom, t.geom) JOIN mg_rb_ring r ON r.sid = t.sid AND r.parent = t.parent;
CREATE INDEX ON mg_rb_set USING gist (geom);
CREATE TEMP TABLE mg_rb_faces AS
SELECT row_number() OVER () AS fid, geom, ST_PointOnSurface(geom) AS anchor, pg_temp.m2(geom) AS area
FROM (SELECT (ST_Dump(ST_Polygonize(u))).geom AS geom
      FROM (SELECT ST_UnaryUnion(ST_Collect(ST_Boundary(geom)), current_setting('gridd.grid_size')::float8) AS u FROM mg_rb_set) x) f
WHERE ST_Area(geom) > 0;
CREATE INDEX ON mg_rb_faces USING gist (geom);
-- A face goes to the grid that holds most of it (faces of grids beyond
-- the set, enclosed by it, to nobody); a sliver the rounding left between
-- grids, to the grid it borders longest.
CREATE TEMP TABLE mg_rb_owner AS
SELECT DISTINCT ON (f.fid) f.fid, s.sid, s.parent
FROM mg_rb_faces f JOIN mg_rb_set s ON ST_Intersects(s.geom, f.geom)
CROSS JOIN LATERAL (SELECT CASE WHEN ST_Covers(s.geom, f.anchor) THEN f.area ELSE pg_temp.m2(ST_Intersection(s.geom, f.geom)) END AS inter) i
WHERE i.inter > 0.5 * f.area
ORDER BY f.fid, i.inter DESC, s.sid, s.parent;
INSERT INTO mg_rb_owner
SELECT DISTINCT ON (f.fid) f.fid, s.sid, s.parent
FROM mg_rb_faces f JOIN mg_rb_set s ON ST_Intersects(s.geom, f.geom)
WHERE f.area < 1 AND NOT EXISTS (SELECT 1 FROM mg_rb_owner o WHERE o.fid = f.fid)
ORDER BY f.fid, pg_temp.mlen(ST_Intersection(ST_Boundary(f.geom), s.geom)) DESC, s.sid;
-- A part the cut left as a crumb (the cell of a point building inside
-- another part's footprint, say) is no grid: its faces go to the grid
-- they border longest, in its community if one borders it. 10 m² is far
-- below any real grid and far above the rounding.
CREATE TEMP TABLE mg_rb_tiny AS
SELECT o.sid, o.parent FROM mg_rb_owner o JOIN mg_rb_faces f USING (fid)
WHERE EXISTS (SELECT 1 FROM mg_rb_new n WHERE n.sid = o.sid)
GROUP BY o.sid, o.parent HAVING sum(f.area) < 10;
UPDATE mg_rb_owner o SET sid = x.sid, parent = x.parent
FROM (SELECT DISTINCT ON (f.fid) f.fid, s.sid, s.parent
      FROM mg_rb_owner o2
      JOIN mg_rb_tiny t ON t.sid = o2.sid AND t.parent = o2.parent
      JOIN mg_rb_faces f ON f.fid = o2.fid
      JOIN mg_rb_set s ON ST_Intersects(s.geom, f.geom)
      WHERE NOT EXISTS (SELECT 1 FROM mg_rb_tiny t2 WHERE t2.sid = s.sid AND t2.parent = s.parent)
      ORDER BY f.fid, s.parent = o2.parent DESC, pg_temp.mlen(ST_Intersection(ST_Boundary(f.geom), s.geom)) DESC, s.sid) x
WHERE o.fid = x.fid;
-- A grid of the set left with no face was a crumb below the grid size.
DELETE FROM mg_child c USING mg_rb_set s
WHERE c.sid = s.sid AND c.parent = s.parent AND NOT EXISTS (SELECT 1 FROM mg_rb_owner o WHERE o.sid = s.sid AND o.parent = s.parent);
UPDATE mg_child c SET geom = u.geom
FROM (SELECT o.sid, o.parent, ST_Multi(ST_UnaryUnion(ST_Collect(f.geom))) AS geom
      FROM mg_rb_owner o JOIN mg_rb_faces f USING (fid) GROUP BY o.sid, o.parent) u
WHERE c.sid = u.sid AND c.parent = u.parent;

UPDATE mg_rb_bld b SET sid = n.sid
FROM mg_rb_part p JOIN mg_rb_new n ON n.rb = p.rb AND n.part = p.part
WHERE p.id = b.id;
-- The buildings of a crumb are in the grid that took it.
UPDATE mg_rb_bld b SET sid = c.sid, parent = c.parent
FROM mg_child c
WHERE NOT EXISTS (SELECT 1 FROM mg_child x WHERE x.sid = b.sid AND x.parent = b.parent) AND ST_Covers(c.geom, b.pt);
