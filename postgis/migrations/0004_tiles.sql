-- Vector tiles: geometry prepared once per generation for every zoom band,
-- so that a tile request only clips and encodes. Areas are simplified per
-- level on their shared borders (arcs), each arc once, so neighbours keep
-- sharing their borders exactly at every zoom. Prepared geometry is in
-- EPSG:3857, the tiles' own projection; a GCJ-02 variant is built lazily
-- for ?datum=gcj02. Rows go with their generation (ON DELETE CASCADE).

-- One row per prepared (generation, datum): written last, in the same
-- transaction as the rows, so its presence means the rows are complete.
CREATE TABLE tile_builds (
    generation int    NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    datum      text   NOT NULL CHECK (datum IN ('wgs84', 'gcj02')),
    built_at   timestamptz NOT NULL DEFAULT now(),
    seconds    float8 NOT NULL DEFAULT 0,
    PRIMARY KEY (generation, datum)
);

-- The simplified whole area per zoom band: tiles are cut from these, so a
-- feature appears once per tile with its code as id.
CREATE TABLE tile_areas (
    generation int      NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    datum      text     NOT NULL,
    band       smallint NOT NULL,
    level      text     NOT NULL,
    code       text     NOT NULL,
    geom       geometry(MultiPolygon, 3857) NOT NULL,
    PRIMARY KEY (generation, datum, band, level, code)
);

-- The same areas cut into small pieces (ST_Subdivide), only to find the
-- areas touching a tile through the index: a district's bounding box
-- covers every tile of the city, its pieces' boxes do not.
CREATE TABLE tile_area_parts (
    generation int      NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    datum      text     NOT NULL,
    band       smallint NOT NULL,
    level      text     NOT NULL,
    code       text     NOT NULL,
    geom       geometry(Polygon, 3857) NOT NULL
);
CREATE INDEX tile_area_parts_geom ON tile_area_parts USING gist (geom);
CREATE INDEX tile_area_parts_key ON tile_area_parts (generation, datum, band, level);

-- One label point per area, inside it (the centre of its largest
-- inscribed circle), for the labels layer.
CREATE TABLE tile_labels (
    generation int  NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    datum      text NOT NULL,
    level      text NOT NULL,
    code       text NOT NULL,
    geom       geometry(Point, 3857) NOT NULL,
    PRIMARY KEY (generation, datum, code)
);
CREATE INDEX tile_labels_geom ON tile_labels USING gist (geom);

-- GCJ-02 ("Mars coordinates", Amap and most Chinese web maps): the public
-- forward formula, the same as geo.WGS84ToGCJ02 (geo/chinacrs.go), as
-- immutable SQL so that prepared geometry can be offset set-based. Input
-- and output are lon/lat; outside China's rectangle points are unchanged.
CREATE FUNCTION gridd_gcj02_mlat(x float8, y float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt(abs(x))
           + (20.0 * sin(6.0 * x * pi()) + 20.0 * sin(2.0 * x * pi())) * 2.0 / 3.0
           + (20.0 * sin(y * pi()) + 40.0 * sin(y / 3.0 * pi())) * 2.0 / 3.0
           + (160.0 * sin(y / 12.0 * pi()) + 320.0 * sin(y * pi() / 30.0)) * 2.0 / 3.0
$$;

CREATE FUNCTION gridd_gcj02_mlon(x float8, y float8) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt(abs(x))
           + (20.0 * sin(6.0 * x * pi()) + 20.0 * sin(2.0 * x * pi())) * 2.0 / 3.0
           + (20.0 * sin(x * pi()) + 40.0 * sin(x / 3.0 * pi())) * 2.0 / 3.0
           + (150.0 * sin(x / 12.0 * pi()) + 300.0 * sin(x / 30.0 * pi())) * 2.0 / 3.0
$$;

-- magic is 1 - e²·sin²(lat) on the Krasovsky ellipsoid.
CREATE FUNCTION gridd_gcj02_offset(lon float8, lat float8, magic float8) RETURNS float8[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ARRAY[
        (gridd_gcj02_mlon(lon - 105.0, lat - 35.0) * 180.0) / (6378245.0 / sqrt(magic) * cos(lat / 180.0 * pi()) * pi()),
        (gridd_gcj02_mlat(lon - 105.0, lat - 35.0) * 180.0) / ((6378245.0 * (1 - 0.00669342162296594323)) / (magic * sqrt(magic)) * pi())]
$$;

-- Single expressions all through, so that PostgreSQL inlines them.
CREATE FUNCTION gridd_gcj02_point(lon float8, lat float8, srid int) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN lon BETWEEN 72.004 AND 137.8347 AND lat BETWEEN 0.8293 AND 55.8271 THEN
        ST_SetSRID(ST_MakePoint(
            lon + (gridd_gcj02_offset(lon, lat, 1 - 0.00669342162296594323 * sin(lat / 180.0 * pi()) ^ 2))[1],
            lat + (gridd_gcj02_offset(lon, lat, 1 - 0.00669342162296594323 * sin(lat / 180.0 * pi()) ^ 2))[2]), srid)
    ELSE ST_SetSRID(ST_MakePoint(lon, lat), srid) END
$$;

-- gridd_gcj02 offsets every vertex of a lon/lat Point, Polygon or
-- MultiPolygon into GCJ-02 (a MultiPolygon for either polygon type). The
-- same vertex always lands on the same point, so shared borders stay
-- shared.
CREATE FUNCTION gridd_gcj02(g geometry) RETURNS geometry
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT CASE WHEN GeometryType(g) = 'POINT' THEN gridd_gcj02_point(ST_X(g), ST_Y(g), ST_SRID(g))
    ELSE (
        SELECT ST_SetSRID(ST_Collect(poly ORDER BY p), ST_SRID(g))
        FROM (
            SELECT p, ST_MakePolygon((array_agg(ring ORDER BY r))[1], (array_agg(ring ORDER BY r))[2:]) AS poly
            FROM (
                SELECT d.path[1] AS p, d.path[2] AS r,
                       ST_MakeLine(array_agg(gridd_gcj02_point(ST_X(d.geom), ST_Y(d.geom), ST_SRID(g)) ORDER BY d.path[3])) AS ring
                FROM ST_DumpPoints(ST_Multi(g)) d
                GROUP BY 1, 2
            ) rings
            GROUP BY p
        ) polys
    ) END
$$;

-- gridd_mvt_geom puts EPSG:3857 polygons into the tile coordinates of
-- `tile` (ST_TileEnvelope) the way ST_AsMVTGeom does — clipped to the tile
-- and its buffer, on the integer grid, exterior rings clockwise on screen
-- as MVT 2.1 wants — but without ST_AsMVTGeom's own per-feature
-- simplification and validation, which move a shared border on one side
-- and not the other and so open gaps between neighbours. It is meant for
-- the prepared geometry, which is already snapped to the tile grid of its
-- zoom band without crossings (so it stays valid); only the points the
-- clip adds on the buffer's edge, outside the tile, are rounded. One
-- expression, so that PostgreSQL inlines it.
CREATE FUNCTION gridd_mvt_geom(g geometry, tile geometry, extent int DEFAULT 4096, buffer int DEFAULT 64) RETURNS geometry
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_ForcePolygonCCW(ST_SnapToGrid(CASE
        -- Inside the tile and its buffer, as most features are: no clip.
        WHEN ST_Expand(tile, (ST_XMax(tile) - ST_XMin(tile)) * buffer / extent) ~ g THEN
            ST_Affine(g, extent / (ST_XMax(tile) - ST_XMin(tile)), 0, 0, -extent / (ST_YMax(tile) - ST_YMin(tile)),
                      -ST_XMin(tile) * extent / (ST_XMax(tile) - ST_XMin(tile)), ST_YMax(tile) * extent / (ST_YMax(tile) - ST_YMin(tile)))
        ELSE ST_ClipByBox2D(
            ST_Affine(g, extent / (ST_XMax(tile) - ST_XMin(tile)), 0, 0, -extent / (ST_YMax(tile) - ST_YMin(tile)),
                      -ST_XMin(tile) * extent / (ST_XMax(tile) - ST_XMin(tile)), ST_YMax(tile) * extent / (ST_YMax(tile) - ST_YMin(tile))),
            ST_MakeEnvelope(-buffer, -buffer, extent + buffer, extent + buffer)::box2d)
    END, 1))
$$;
