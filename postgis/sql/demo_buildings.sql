-- Synthetic buildings (楼栋) of the demo city, generated inside the same
-- transaction as demo.sql, from its temporary table demo_grid (the true
-- grids in UTM 51N, with their urban flag) and its hash-based pg_temp.rnd,
-- so that the same seed gives the same buildings. No real building or
-- address is used.
--
-- Each grid gets a household target, mostly 300–500 (the size rule of a
-- grid), one in ten below and one in ten above; residential buildings
-- carry it: tall ones (40–200 households) packed into the small grids of
-- streets (街道), low ones (20–60) spread over the large grids of towns
-- (镇). Shops (商铺, 0–2 households) and units (单位, none) come beside
-- them. Footprints are rectangles kept 25 m inside the grid, so that the
-- departments' shifted outlines the merge starts from still hold them.

CREATE TEMP TABLE demo_bgrid ON COMMIT DROP AS
SELECT code, urban, g,
       row_number() OVER (ORDER BY code)::int AS gi,
       t.target,
       greatest(1, round(t.target / CASE WHEN urban THEN 90.0 ELSE 36.0 END))::int AS homes,
       (CASE WHEN urban THEN 2 + floor(pg_temp.rnd('bs' || code) * 7) ELSE 1 + floor(pg_temp.rnd('bs' || code) * 4) END)::int AS shops,
       floor(pg_temp.rnd('bu' || code) * 3)::int AS units,
       coalesce(nullif(ST_Buffer(g, -25), 'POLYGON EMPTY'::geometry), ST_Buffer(ST_PointOnSurface(g), 5)) AS inner_g
FROM demo_grid
CROSS JOIN LATERAL (SELECT CASE WHEN pg_temp.rnd('bt' || code) < 0.1 THEN 150 + pg_temp.rnd('bh' || code) * 140
                                WHEN pg_temp.rnd('bt' || code) > 0.9 THEN 520 + pg_temp.rnd('bh' || code) * 300
                                ELSE 300 + pg_temp.rnd('bh' || code) * 200 END AS target) t;

CREATE TEMP TABLE demo_bldg ON COMMIT DROP AS
WITH pts AS (
    SELECT b.code, b.urban, b.target, b.homes, b.shops, (d).path[1] AS k, (d).geom AS pt
    FROM demo_bgrid b
    CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(b.inner_g, b.homes + b.shops + b.units, pg_temp.seed(50000 + b.gi))) d
), kinds AS (
    SELECT *, CASE WHEN k <= homes THEN '住宅' WHEN k <= homes + shops THEN '商铺' ELSE '单位' END AS use,
           0.5 + pg_temp.rnd('bw' || code || ':' || k) AS w
    FROM pts
), homes AS (
    SELECT *, sum(w) FILTER (WHERE use = '住宅') OVER (PARTITION BY code) AS wsum FROM kinds
)
SELECT code || '-' || lpad(k::text, 3, '0') AS id, k, code, urban, use, pt,
       CASE use WHEN '住宅' THEN least(200, greatest(20, round(target * w / wsum)))
                WHEN '商铺' THEN floor(pg_temp.rnd('bsh' || code || ':' || k) * 3)
                ELSE 0 END::int AS households,
       CASE use WHEN '住宅' THEN (CASE WHEN urban THEN 6 + floor(pg_temp.rnd('bf' || code || ':' || k) * 28) ELSE 2 + floor(pg_temp.rnd('bf' || code || ':' || k) * 5) END)
                WHEN '商铺' THEN 1 + floor(pg_temp.rnd('bf' || code || ':' || k) * 3)
                ELSE 3 + floor(pg_temp.rnd('bf' || code || ':' || k) * 10) END::int AS floors,
       -- half-sides of the footprint in metres
       CASE WHEN use = '住宅' AND urban THEN 8 ELSE 5 END AS hx,
       CASE WHEN use = '住宅' AND urban THEN 20 WHEN use = '住宅' THEN 6 ELSE 7 END AS hy
FROM homes;

WITH s AS (
    INSERT INTO building_sets (version, name, file_name, source_srs, encoding, feature_count, report)
    SELECT 1, '演示 楼栋 (synthetic)', 'gridd demo', 'EPSG:4326', 'UTF-8', count(*), '{}' FROM demo_bldg
    RETURNING id
), b AS (
    SELECT d.*, row_number() OVER (ORDER BY d.id)::int AS fid,
           '演示路' || (1 + floor(pg_temp.rnd('ba' || d.code) * 300))::int || '号' || d.k || '幢' AS address,
           (d.households * (2.2 + pg_temp.rnd('br' || d.id) * 0.8))::int AS residents,
           ST_Multi(ST_Transform(ST_MakeEnvelope(ST_X(d.pt) - d.hx, ST_Y(d.pt) - d.hy, ST_X(d.pt) + d.hx, ST_Y(d.pt) + d.hy, 32651), 4326)) AS geom
    FROM demo_bldg d
)
INSERT INTO buildings (id, set_id, fid, name, address, households, residents, floors, use, props, geom, digest)
-- The digest is the one buildings.go computes for an imported building.
SELECT b.id, s.id, b.fid, '', b.address, b.households, b.residents, b.floors, b.use, '{}'::jsonb, b.geom,
       md5(concat_ws(chr(31), ''::text, b.address, b.households, b.residents, b.floors, b.use, '{}'::jsonb::text, encode(ST_AsEWKB(b.geom), 'hex')))
FROM b, s;

ANALYZE buildings;
