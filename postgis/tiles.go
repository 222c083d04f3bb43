package postgis

import (
	"context"

	"github.com/gridd/gridd/geo"
)

// areaTileSQL cuts one MVT tile of one level of a generation. Feature ids
// are the numeric codes, stable across requests and generations, so map
// clients can keep hover and selection state by id.
const areaTileSQL = `
WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e, ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 0.015625), 4326) AS e4326)
SELECT coalesce((
    SELECT ST_AsMVT(t, $6, 4096, 'geom', 'id')
    FROM (
        SELECT a.code::bigint AS id, a.code, a.name, a.level, a.parent_code AS parent,
               ST_AsMVTGeom(ST_Transform(a.geom, 3857), env.e, 4096, 64, true) AS geom
        FROM areas a, env
        WHERE a.generation = $4 AND a.level = $5 AND a.geom && env.e4326
    ) t
    WHERE geom IS NOT NULL
), ''::bytea)`

// AreaTile returns the MVT tile z/x/y of a level of a generation (0: the
// active one), with one layer named after the level's plural. An empty
// tile is a nil slice.
func (db *DB) AreaTile(ctx context.Context, generation int, level geo.Level, z, x, y int) ([]byte, error) {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return nil, err
	}
	var tile []byte
	if err := db.Pool.QueryRow(ctx, areaTileSQL, z, x, y, gen, string(level), level.Plural()).Scan(&tile); err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "tile %d/%d/%d", z, x, y)
	}
	if len(tile) == 0 {
		return nil, nil
	}
	return tile, nil
}
