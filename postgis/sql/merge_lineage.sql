-- Lineage of the draft's grids from the active generation's (gridd.active),
-- and the crosswalk from every department's latest grid layer.

WITH newg AS (
    SELECT code, geom AS g FROM mg_grid WHERE code IS NOT NULL
), pairs AS (
    SELECT o.code AS old_code, n.code AS new_code, pg_temp.m2(ST_Intersection(o.geom, n.g)) AS inter,
           pg_temp.m2(o.geom) AS old_area, pg_temp.m2(n.g) AS new_area
    FROM mg_old o JOIN newg n ON ST_Intersects(o.geom, n.g)
), shares AS (
    SELECT old_code, new_code, inter / nullif(old_area, 0) AS old_share, inter / nullif(new_area, 0) AS new_share
    FROM pairs WHERE inter > 0
), big AS (
    SELECT * FROM shares WHERE old_share >= 0.1 OR new_share >= 0.1 OR old_code = new_code
), fan AS (
    SELECT old_code, count(*) FILTER (WHERE old_share >= 0.1) AS outs FROM big GROUP BY old_code
), fanin AS (
    SELECT new_code, count(*) FILTER (WHERE new_share >= 0.1) AS ins FROM big GROUP BY new_code
)
INSERT INTO lineage (generation, from_generation, old_code, new_code, relation, old_share, new_share)
SELECT current_setting('gridd.gen')::int, current_setting('gridd.active')::int, b.old_code, b.new_code,
       CASE WHEN b.old_code = b.new_code AND b.old_share > 0.999 AND b.new_share > 0.999 THEN 'kept'
            WHEN b.old_code = b.new_code THEN 'reshaped'
            WHEN f.outs > 1 THEN 'split'
            WHEN fi.ins > 1 THEN 'merged'
            ELSE 'reshaped' END,
       b.old_share, b.new_share
FROM big b JOIN fan f USING (old_code) JOIN fanin fi USING (new_code)
WHERE current_setting('gridd.active')::int > 0;

INSERT INTO lineage (generation, from_generation, old_code, new_code, relation)
SELECT current_setting('gridd.gen')::int, current_setting('gridd.active')::int, o.code, NULL, 'retired'
FROM mg_old o WHERE NOT EXISTS (SELECT 1 FROM mg_grid g WHERE g.code = o.code)
  AND current_setting('gridd.active')::int > 0;

INSERT INTO lineage (generation, from_generation, old_code, new_code, relation)
SELECT current_setting('gridd.gen')::int, nullif(current_setting('gridd.active')::int, 0), NULL, g.code, 'new'
FROM mg_grid g WHERE g.code IS NOT NULL AND NOT EXISTS (SELECT 1 FROM mg_used u WHERE u.code = g.code);

-- Crosswalk: each departmental grid against the unified grids, plus the
-- part of it outside the coverage, so its shares add up to 1.
DROP TABLE IF EXISTS mg_dept;
CREATE TEMP TABLE mg_dept AS
SELECT f.id, f.layer_id, l.dept_code, f.code, g AS geom, pg_temp.m2(g) AS area
FROM (SELECT DISTINCT ON (dept_code) id, dept_code FROM source_layers
      WHERE level = 'grid' AND dept_code IS NOT NULL ORDER BY dept_code, version DESC) l
JOIN source_features f ON f.layer_id = l.id
CROSS JOIN LATERAL ST_MakeValid(f.geom) g;
CREATE INDEX ON mg_dept USING gist (geom);

WITH inter AS (
    SELECT d.id, d.layer_id, d.dept_code, d.code, d.area, g.code AS grid_code, g.area AS grid_area,
           pg_temp.m2(ST_Intersection(d.geom, g.geom)) AS a
    FROM mg_dept d JOIN mg_grid g ON g.code IS NOT NULL AND ST_Intersects(d.geom, g.geom)
), kept AS (
    SELECT * FROM inter WHERE a > 0
), ins AS (
    INSERT INTO crosswalk (generation, dept_code, layer_id, feature_id, source_code, grid_code, source_share, grid_share, area_m2)
    SELECT current_setting('gridd.gen')::int, dept_code, layer_id, id, code, grid_code, a / area, a / grid_area, a FROM kept
    RETURNING feature_id, area_m2
)
INSERT INTO crosswalk (generation, dept_code, layer_id, feature_id, source_code, grid_code, source_share, grid_share, area_m2)
SELECT current_setting('gridd.gen')::int, d.dept_code, d.layer_id, d.id, d.code, '',
       greatest(0, 1 - coalesce(s.a, 0) / d.area), NULL, greatest(0, d.area - coalesce(s.a, 0))
FROM mg_dept d LEFT JOIN (SELECT feature_id, sum(area_m2) AS a FROM ins GROUP BY feature_id) s ON s.feature_id = d.id
WHERE d.area > 0 AND d.area - coalesce(s.a, 0) > 1e-6 * d.area;
