-- Buildings (楼栋): what is inside the grids. There is one building set,
-- versioned like a layer: every import is a version of building_sets (its
-- file hash makes an identical re-import a no-op, its report says what was
-- added, removed and changed), and buildings holds the current version's
-- buildings, keyed by the file's own building id so that what refers to a
-- building (the household register, later) keeps referring to it across
-- re-imports.
CREATE TABLE building_sets (
    id            bigserial PRIMARY KEY,
    version       int  NOT NULL UNIQUE,
    name          text NOT NULL DEFAULT '',
    file_name     text NOT NULL DEFAULT '',
    file_hash     text NOT NULL DEFAULT '',
    source_srs    text NOT NULL DEFAULT 'EPSG:4326',
    encoding      text NOT NULL DEFAULT '',
    feature_count int  NOT NULL DEFAULT 0,
    report        jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE buildings (
    -- Ids compare bytewise: faster to index and sort than by a locale.
    id         text   COLLATE "C" PRIMARY KEY CHECK (id <> '' AND length(id) <= 100),
    set_id     bigint NOT NULL REFERENCES building_sets (id),  -- the version that last added or changed it
    fid        int    NOT NULL,                                -- position in that file, from 1
    name       text   NOT NULL DEFAULT '',
    address    text   NOT NULL DEFAULT '',
    households int    CHECK (households >= 0),
    residents  int    CHECK (residents >= 0),
    floors     int    CHECK (floors >= 0),
    use        text   NOT NULL DEFAULT '',
    props      jsonb  NOT NULL DEFAULT '{}',
    -- A point, or a footprint; lon/lat like every geometry of gridd.
    geom       geometry(Geometry, 4326) NOT NULL
               CHECK (GeometryType(geom) IN ('POINT', 'MULTIPOLYGON')),
    -- What makes a re-imported building "changed": attributes and geometry.
    digest     text   NOT NULL
);
-- Points and footprints are assigned by different rules, each reading its
-- own index (buildings.go rebuilds them after a bulk load).
CREATE INDEX buildings_points ON buildings USING gist (geom) WHERE GeometryType(geom) = 'POINT';
CREATE INDEX buildings_footprints ON buildings USING gist (geom) WHERE GeometryType(geom) = 'MULTIPOLYGON';

-- The grid each building belongs to in each generation: computed when
-- buildings are imported (for every generation) and when a merge makes a
-- draft, so that activation switches them with the generation. A building
-- outside every grid has no grid_code and says how far the nearest is.
--
-- Partitioned by generation, like source features by layer: a generation's
-- assignment is computed into a table of its own, indexed in bulk and
-- attached, several times faster than inserting into one big indexed
-- table. No foreign keys: checking them row by row costs more than the
-- assignment does; only the import (which deletes the assignments of the
-- buildings it removes) and the assignment write here, with ids they have
-- just read. Households and residents are copied from the building (and
-- recomputed with it when it changes), so that the roll-up reads one table.
CREATE TABLE building_grid (
    generation   int  NOT NULL,
    building_id  text COLLATE "C" NOT NULL,
    grid_code    text COLLATE "C",     -- NULL: outside every grid
    share        float8 NOT NULL DEFAULT 1,  -- of the footprint's area in that grid; 1 for points
    nearest_code text,                 -- outside only: the nearest grid
    distance_m   float8,               -- outside only: how far it is
    households   int,
    residents    int,
    PRIMARY KEY (generation, building_id)
) PARTITION BY LIST (generation);
CREATE INDEX building_grid_grid ON building_grid (generation, grid_code);

-- Counts from buildings per area (grid, community, street, district) per
-- generation, rolled up by code prefix (codes nest: a grid's code starts
-- with its community's, and so on); every area of a generation has a row
-- once buildings are loaded (0 where none lies). Refilled with the
-- assignment; read by
-- the area panel, tiles, exports and OGC features, which state that their
-- households come from data where a row exists here.
CREATE TABLE area_counts (
    generation int  NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    code       text NOT NULL,
    level      text NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid')),
    buildings  int  NOT NULL,
    households int  NOT NULL,
    residents  int  NOT NULL,
    PRIMARY KEY (generation, code)
);
