-- gridd schema, first version. Geometry is stored in EPSG:4326 lon/lat as
-- MultiPolygon; every geometry column has a GiST index.

CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE departments (
    code       text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,31}$'),
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO departments (code, name) VALUES
    ('zongzhi',   '综治'),
    ('chengguan', '城管'),
    ('gongan',    '公安'),
    ('dangjian',  '党建'),
    ('shichang',  '市场监管'),
    ('yingji',    '应急');

-- One imported file. Admin layers (districts, streets, communities) have no
-- department; each (department, level) has numbered versions, all kept.
CREATE TABLE source_layers (
    id            bigserial PRIMARY KEY,
    dept_code     text REFERENCES departments (code),
    level         text NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid')),
    version       int  NOT NULL,
    name          text NOT NULL,
    file_name     text NOT NULL DEFAULT '',
    file_hash     text NOT NULL DEFAULT '',
    source_srs    text NOT NULL DEFAULT 'EPSG:4326',
    encoding      text NOT NULL DEFAULT '',
    feature_count int  NOT NULL DEFAULT 0,
    report        jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX source_layers_version ON source_layers (coalesce(dept_code, ''), level, version);

CREATE TABLE source_features (
    id          bigserial PRIMARY KEY,
    layer_id    bigint NOT NULL REFERENCES source_layers (id) ON DELETE CASCADE,
    fid         int    NOT NULL,           -- position in the source file, from 1
    code        text   NOT NULL DEFAULT '',
    name        text   NOT NULL DEFAULT '',
    parent_code text   NOT NULL DEFAULT '',
    households  int,
    population  int,
    props       jsonb  NOT NULL DEFAULT '{}',
    geom        geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (layer_id, fid)
);
CREATE INDEX source_features_geom ON source_features USING gist (geom);

-- A generation is one version of the unified coverage. At most one is active.
CREATE TABLE generations (
    id           serial PRIMARY KEY,
    state        text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'active', 'retired')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz,
    note         text NOT NULL DEFAULT '',
    params       jsonb NOT NULL DEFAULT '{}',
    report       jsonb NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX generations_one_active ON generations (state) WHERE state = 'active';

CREATE TABLE areas (
    generation  int  NOT NULL REFERENCES generations (id) ON DELETE CASCADE,
    level       text NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid')),
    code        text NOT NULL CHECK (code ~ '^[0-9]+$'),
    name        text NOT NULL DEFAULT '',
    parent_code text NOT NULL DEFAULT '',
    households  int,
    population  int,
    geom        geometry(MultiPolygon, 4326) NOT NULL,
    PRIMARY KEY (generation, code),
    CHECK (length(code) = CASE level WHEN 'district' THEN 6 WHEN 'street' THEN 9 WHEN 'community' THEN 12 ELSE 15 END)
);
CREATE INDEX areas_geom ON areas USING gist (geom);
CREATE INDEX areas_level ON areas (generation, level);
