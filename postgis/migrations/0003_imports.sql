-- Imports started over HTTP run as jobs whose state and report any replica
-- can answer for.
CREATE TABLE import_jobs (
    id          bigserial PRIMARY KEY,
    state       text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    request     jsonb NOT NULL,
    report      jsonb,
    error       text,
    error_code  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- Source features are partitioned by layer: an import loads its layer into
-- a table of its own, builds that table's indexes in bulk and attaches it,
-- which is several times faster than inserting into one big indexed table;
-- dropping an old version becomes dropping a table. Rows inserted without a
-- partition of their own (the demo generator, tests) land in the default
-- partition.
ALTER TABLE crosswalk DROP CONSTRAINT crosswalk_feature_id_fkey;
ALTER SEQUENCE source_features_id_seq OWNED BY NONE;
ALTER TABLE source_features RENAME TO source_features_old;
ALTER INDEX source_features_geom RENAME TO source_features_old_geom;
ALTER TABLE source_features_old RENAME CONSTRAINT source_features_pkey TO source_features_old_pkey;
ALTER TABLE source_features_old RENAME CONSTRAINT source_features_layer_id_fid_key TO source_features_old_layer_id_fid_key;

CREATE TABLE source_features (
    id          bigint NOT NULL DEFAULT nextval('source_features_id_seq'),
    layer_id    bigint NOT NULL REFERENCES source_layers (id) ON DELETE CASCADE,
    fid         int    NOT NULL,           -- position in the source file, from 1
    code        text   NOT NULL DEFAULT '',
    name        text   NOT NULL DEFAULT '',
    parent_code text   NOT NULL DEFAULT '',
    households  int,
    population  int,
    props       jsonb  NOT NULL DEFAULT '{}',
    geom        geometry(MultiPolygon, 4326) NOT NULL,
    PRIMARY KEY (layer_id, id),
    UNIQUE (layer_id, fid)
) PARTITION BY LIST (layer_id);
ALTER SEQUENCE source_features_id_seq OWNED BY source_features.id;
CREATE INDEX source_features_geom ON source_features USING gist (geom);
CREATE INDEX source_features_id ON source_features (id);
CREATE TABLE source_features_default PARTITION OF source_features DEFAULT;

INSERT INTO source_features SELECT * FROM source_features_old;
DROP TABLE source_features_old;

ALTER TABLE crosswalk ADD FOREIGN KEY (layer_id, feature_id) REFERENCES source_features (layer_id, id) ON DELETE CASCADE;
