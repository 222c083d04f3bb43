-- Prepares the rebalance of the draft's grids (mg_child, just cleaned by
-- merge_level.sql): each grid gets a number rb, and every building the
-- grid that covers its point (a footprint's point on its surface) with its
-- households. Output: mg_child.rb, mg_rb_bld(rb, sid, parent, id, hh,
-- lon, lat, footprint, pt), mg_rb_size(rb, sid, parent, hh).

DROP TABLE IF EXISTS mg_rb_bld, mg_rb_size, mg_rb_part, mg_rb_cells, mg_rb_geom, mg_rb_fp, mg_rb_new, mg_rb_ring, mg_rb_set, mg_rb_faces, mg_rb_owner, mg_rb_tiny;
ALTER TABLE mg_child ADD COLUMN rb int;
UPDATE mg_child c SET rb = n.rb
FROM (SELECT sid, parent, row_number() OVER (ORDER BY parent, sid)::int AS rb FROM mg_child) n
WHERE n.sid = c.sid AND n.parent = c.parent;
CREATE INDEX ON mg_child USING gist (geom);
ANALYZE mg_child;

CREATE TEMP TABLE mg_rb_bld AS
SELECT DISTINCT ON (b.id) c.rb, c.sid, c.parent, b.id, coalesce(b.households, 0) AS hh, ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat,
       GeometryType(b.geom) <> 'POINT' AS footprint, p.pt
FROM buildings b
CROSS JOIN LATERAL (SELECT CASE WHEN GeometryType(b.geom) = 'POINT' THEN b.geom ELSE ST_PointOnSurface(b.geom) END AS pt) p
JOIN mg_child c ON ST_Covers(c.geom, p.pt)
ORDER BY b.id, c.parent, c.sid;
CREATE INDEX ON mg_rb_bld (rb);

CREATE TEMP TABLE mg_rb_size AS
SELECT c.rb, c.sid, c.parent, coalesce(sum(b.hh), 0)::int AS hh, count(b.id)::int AS buildings
FROM mg_child c LEFT JOIN mg_rb_bld b ON b.rb = c.rb
GROUP BY c.rb, c.sid, c.parent;

CREATE TEMP TABLE mg_rb_part (rb int, id text COLLATE "C", part int);
