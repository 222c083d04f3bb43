-- Validates one generation ($1) against the rules of the unified coverage,
-- like a topology checker: one row per violation (rule, level, code,
-- other, amount, detail). Areas are measured on the spheroid (geography).
-- $2: overlap tolerance m², $3: relative area tolerance.
WITH g AS (
    SELECT level, code, parent_code, geom FROM areas WHERE generation = $1
), invalid(rule, level, code, other, amount, detail) AS (
    SELECT 'invalid_geometry' AS rule, level, code, '' AS other, 0::float8 AS amount, ST_IsValidReason(geom) AS detail
    FROM g WHERE NOT ST_IsValid(geom)
), badcode(rule, level, code, other, amount, detail) AS (
    SELECT 'code_format', level, code, '', 0, 'want ' || CASE level WHEN 'district' THEN 6 WHEN 'street' THEN 9 WHEN 'community' THEN 12 ELSE 15 END || ' digits'
    FROM g WHERE code !~ ('^[0-9]{' || CASE level WHEN 'district' THEN 6 WHEN 'street' THEN 9 WHEN 'community' THEN 12 ELSE 15 END || '}$')
       OR (level <> 'district' AND right(code, 3) = '000')
), badparent(rule, level, code, other, amount, detail) AS (
    SELECT 'parent', c.level, c.code, c.parent_code, 0, 'parent code is not the code''s prefix or does not exist'
    FROM g c
    WHERE c.level <> 'district' AND (c.parent_code <> left(c.code, length(c.code) - 3)
          OR NOT EXISTS (SELECT 1 FROM g p WHERE p.code = c.parent_code AND p.level = CASE c.level WHEN 'street' THEN 'district' WHEN 'community' THEN 'street' ELSE 'community' END))
), overlap(rule, level, code, other, amount, detail) AS (
    SELECT 'overlap', a.level, a.code, b.code, ST_Area(ST_Intersection(a.geom, b.geom)::geography), 'siblings overlap'
    FROM g a JOIN g b ON a.level = b.level AND a.code < b.code AND ST_Intersects(a.geom, b.geom)
    WHERE ST_Relate(a.geom, b.geom, '2********')
), outside(rule, level, code, other, amount, detail) AS (
    SELECT 'outside_parent', c.level, c.code, c.parent_code, ST_Area(ST_Difference(c.geom, p.geom)::geography), 'child extends outside its parent'
    FROM g c JOIN g p ON p.code = c.parent_code AND p.level <> c.level
    WHERE NOT ST_CoveredBy(c.geom, p.geom)
), sums(rule, level, code, other, amount, detail) AS (
    SELECT 'children_area', p.level, p.code, '', (ST_Area(p.geom::geography) - coalesce(sum(ST_Area(c.geom::geography)), 0)),
           'children cover ' || round((100 * coalesce(sum(ST_Area(c.geom::geography)), 0) / nullif(ST_Area(p.geom::geography), 0))::numeric, 4) || '% of the parent'
    FROM g p LEFT JOIN g c ON c.parent_code = p.code AND c.level <> p.level
    WHERE p.level <> 'grid'
    GROUP BY p.level, p.code, p.geom
    HAVING abs(ST_Area(p.geom::geography) - coalesce(sum(ST_Area(c.geom::geography)), 0)) > $3 * ST_Area(p.geom::geography)
)
SELECT * FROM invalid
UNION ALL SELECT * FROM badcode
UNION ALL SELECT * FROM badparent
UNION ALL SELECT * FROM overlap WHERE amount > $2
UNION ALL SELECT * FROM outside WHERE amount > $2
UNION ALL SELECT * FROM sums
ORDER BY 1, 2, 3, 4
