-- Every imported layer builds its partition's indexes in bulk; each index
-- costs import time. (layer_id, fid) is unique by construction (fid is the
-- importer's running count), and lookups by id always know the layer
-- (crosswalk rows carry it), so the primary key serves them.
ALTER TABLE source_features DROP CONSTRAINT source_features_layer_id_fid_key;
DROP INDEX source_features_id;
