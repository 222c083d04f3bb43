-- Joins each grid below the rule (gridd.rb_min households) to the
-- neighbour in its community with which it shares the longest border,
-- while the two together stay within gridd.rb_max; the smallest grids
-- first. Households come from mg_rb_bld (sid, parent: the grid each
-- building now lies in). Output: mg_child with the joined grids united,
-- mg_rb_joined(sid, into_sid) for the report.

DROP TABLE IF EXISTS mg_rb_hh, mg_rb_joined;
CREATE TEMP TABLE mg_rb_hh AS
SELECT c.sid, c.parent, coalesce(sum(b.hh), 0)::int AS hh
FROM mg_child c LEFT JOIN mg_rb_bld b ON b.sid = c.sid AND b.parent = c.parent
GROUP BY c.sid, c.parent;
CREATE TEMP TABLE mg_rb_joined (sid int, parent text, into_sid int, hh int);

DO $$
DECLARE
    lo int := current_setting('gridd.rb_min')::int;
    hi int := current_setting('gridd.rb_max')::int;
    r record;
    t record;
BEGIN
    FOR r IN SELECT sid, parent FROM mg_rb_hh WHERE hh < lo ORDER BY hh, parent, sid LOOP
        -- It may have grown (a neighbour was joined to it) or gone.
        PERFORM 1 FROM mg_rb_hh h WHERE h.sid = r.sid AND h.parent = r.parent AND h.hh < lo;
        IF NOT FOUND THEN
            CONTINUE;
        END IF;
        SELECT n.sid, n.parent INTO t
        FROM mg_child me
        JOIN mg_rb_hh mh ON mh.sid = me.sid AND mh.parent = me.parent
        JOIN mg_child n ON n.parent = me.parent AND NOT (n.sid = me.sid) AND ST_Intersects(n.geom, me.geom)
        JOIN mg_rb_hh nh ON nh.sid = n.sid AND nh.parent = n.parent
        CROSS JOIN LATERAL (SELECT pg_temp.mlen(ST_CollectionExtract(ST_Intersection(ST_Boundary(me.geom), ST_Boundary(n.geom)), 2)) AS border) b
        WHERE me.sid = r.sid AND me.parent = r.parent AND mh.hh + nh.hh <= hi AND b.border > 0
        ORDER BY b.border DESC, n.sid
        LIMIT 1;
        IF NOT FOUND THEN
            CONTINUE;
        END IF;
        UPDATE mg_child n SET geom = ST_Multi(ST_CollectionExtract(ST_Union(n.geom, me.geom), 3))
        FROM mg_child me WHERE me.sid = r.sid AND me.parent = r.parent AND n.sid = t.sid AND n.parent = t.parent;
        INSERT INTO mg_rb_joined SELECT r.sid, r.parent, t.sid, hh FROM mg_rb_hh WHERE sid = r.sid AND parent = r.parent;
        UPDATE mg_rb_hh n SET hh = n.hh + me.hh FROM mg_rb_hh me
        WHERE me.sid = r.sid AND me.parent = r.parent AND n.sid = t.sid AND n.parent = t.parent;
        DELETE FROM mg_child WHERE sid = r.sid AND parent = r.parent;
        DELETE FROM mg_rb_hh WHERE sid = r.sid AND parent = r.parent;
        UPDATE mg_rb_bld SET sid = t.sid WHERE sid = r.sid AND parent = r.parent;
    END LOOP;
END $$;
