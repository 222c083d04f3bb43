package postgis

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// areaTileSQL cuts one MVT tile of one level of a generation straight
// from the areas, per request, the way pg_tileserv does: no prepared
// geometry, no simplification beyond ST_AsMVTGeom's. Tile serves the
// prepared geometry; AreaTile stays as the reference the benchmark
// compares it with. Feature ids
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

// preparedTileSQL cuts a tile of one level from the prepared geometry of
// its zoom band: the index finds the areas through their subdivided
// pieces, the tile is cut from the whole areas, so each area is one
// feature with its code as id. Attributes come from areas. (Counts such as
// open incidents per area join here when incidents exist: one more LEFT
// JOIN on (generation, code) and a column; the attribute list in web's
// TileJSON names them.)
// $1-$3 z/x/y, $4 generation, $5 datum, $6 band, $7 level, $8 layer name,
// $9 the band's extent, $10 whether names and households are carried (geo.DetailMinZoom;
// ST_AsMVT leaves NULL attributes out).
const preparedTileSQL = `
WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096) AS eb),
hit AS (
    SELECT DISTINCT p.code FROM tile_area_parts p, env
    WHERE p.generation = $4 AND p.datum = $5 AND p.band = $6 AND p.level = $7 AND p.geom && env.eb
)
SELECT coalesce((
    SELECT ST_AsMVT(t, $8, $9::int, 'geom', 'id')
    FROM (
        SELECT a.code::bigint AS id, a.code, CASE WHEN $10 THEN a.name END AS name, a.level, a.parent_code AS parent,
               CASE WHEN $10 THEN coalesce(n.households, a.households) END AS households,
               CASE WHEN $10 THEN CASE WHEN n.code IS NOT NULL THEN 'data' WHEN a.households IS NOT NULL THEN 'attribute' END END AS households_source,
               gridd_mvt_geom(g.geom, env.e, $9::int, $9::int / 64) AS geom
        FROM hit
        JOIN tile_areas g ON g.generation = $4 AND g.datum = $5 AND g.band = $6 AND g.level = $7 AND g.code = hit.code
        JOIN areas a ON a.generation = $4 AND a.code = hit.code
        LEFT JOIN area_counts n ON n.generation = $4 AND n.code = hit.code
        CROSS JOIN env
    ) t
    WHERE NOT ST_IsEmpty(geom)
), ''::bytea)`

// labelTileSQL cuts a tile of the labels layer: the points of the levels
// whose labels show at this zoom. $1-$3 z/x/y, $4 generation, $5 datum,
// $6 levels.
const labelTileSQL = `
WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e, ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096) AS eb)
SELECT coalesce((
    SELECT ST_AsMVT(t, 'labels', 4096, 'geom', 'id')
    FROM (
        SELECT a.code::bigint AS id, a.code, a.name, a.level, a.parent_code AS parent,
               ST_AsMVTGeom(l.geom, env.e, 4096, 64, true) AS geom
        FROM tile_labels l JOIN areas a ON a.generation = $4 AND a.code = l.code, env
        WHERE l.generation = $4 AND l.datum = $5 AND l.level = ANY ($6::text[]) AND l.geom && env.eb
    ) t
    WHERE geom IS NOT NULL
), ''::bytea)`

// deptTileSQL cuts a tile of a departmental layer version straight from
// its features: departments' grids overlap and leave gaps by nature, so
// each feature is simplified on its own. Feature ids are the features'
// positions in the imported file. $1-$3 z/x/y, $4 layer id, $5 datum,
// $6 tolerance (metres), $7 layer name.
const deptTileSQL = `
WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e,
                    ST_Expand(ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326),
                              CASE WHEN $5 = 'gcj02' THEN 0.01 ELSE 0 END) AS e4326)
SELECT coalesce((
    SELECT ST_AsMVT(t, $7, 4096, 'geom', 'id')
    FROM (
        SELECT f.fid AS id, f.code, f.name, l.dept_code AS dept, l.version, f.households,
               ST_AsMVTGeom(ST_Simplify(ST_Transform(CASE WHEN $5 = 'gcj02' THEN gridd_gcj02(f.geom) ELSE f.geom END, 3857), $6::float8, true),
                            env.e, 4096, 64, true) AS geom
        FROM source_features f JOIN source_layers l ON l.id = f.layer_id, env
        WHERE f.layer_id = $4 AND f.geom && env.e4326
    ) t
    WHERE geom IS NOT NULL
), ''::bytea)`

// Tile cuts one vector tile (MVT, buffer 1/64 of the extent: 4096 for
// most layers, less for low-zoom level tiles, see zoomBands) of a level or
// the labels of a generation, or of a departmental layer version, building
// the generation's prepared geometry first if it is not there yet. An
// empty tile is a nil slice.
func (db *DB) Tile(ctx context.Context, q geo.TileQuery) ([]byte, error) {
	datum := q.Datum
	if datum == "" {
		datum = geo.DatumWGS84
	}
	if datum != geo.DatumWGS84 && datum != geo.DatumGCJ02 {
		return nil, geo.Errorf(geo.EINVALID, "tiles in datum %q: use wgs84 or gcj02", datum)
	}
	var query string
	var args []any
	pool := db.Pool
	switch {
	case strings.HasPrefix(q.Layer, geo.DeptLayerPrefix):
		tol := bandTolerance(q.Z)
		name := "dept_" + strings.TrimPrefix(q.Layer, geo.DeptLayerPrefix)
		query, args = deptTileSQL, []any{q.Z, q.X, q.Y, q.LayerID, string(datum), tol, name}
	case q.Layer == geo.LabelsLayer:
		if err := db.PrepareTiles(ctx, q.Generation, datum); err != nil {
			return nil, err
		}
		var levels []string
		for _, l := range geo.Levels {
			if q.Z >= geo.LabelMinZoom(l) {
				levels = append(levels, string(l))
			}
		}
		if len(levels) == 0 {
			return nil, nil
		}
		pool = db.tileReads(q.Generation, datum)
		query, args = labelTileSQL, []any{q.Z, q.X, q.Y, q.Generation, string(datum), levels}
	default:
		level, ok := levelOfPlural(q.Layer)
		if !ok {
			return nil, geo.Errorf(geo.ENOTFOUND, "no tile layer %q", q.Layer)
		}
		if err := db.PrepareTiles(ctx, q.Generation, datum); err != nil {
			return nil, err
		}
		b := bandOf(q.Z)
		pool = db.tileReads(q.Generation, datum)
		query, args = preparedTileSQL, []any{q.Z, q.X, q.Y, q.Generation, string(datum), b.band, string(level), q.Layer, b.extent,
			q.Z >= geo.DetailMinZoom(level)}
	}
	var tile []byte
	err := pool.QueryRow(ctx, query, args...).Scan(&tile)
	if err != nil && pool != db.Pool && ctx.Err() == nil {
		db.standbyFailed(err) // down since the last check: the primary answers
		err = db.Pool.QueryRow(ctx, query, args...).Scan(&tile)
	}
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "tile %s %d/%d/%d", q.Layer, q.Z, q.X, q.Y)
	}
	if len(tile) == 0 {
		return nil, nil
	}
	return tile, nil
}

// bandTolerance is the simplification tolerance for per-request tiles at
// zoom z: half a 512-pixel tile's pixel.
func bandTolerance(z int) float64 { return halfPixel512 / math.Exp2(float64(z)) }

func levelOfPlural(s string) (geo.Level, bool) {
	for _, l := range geo.Levels {
		if l.Plural() == s {
			return l, true
		}
	}
	return "", false
}

// TileCatalog returns the active generation, every generation's id and
// the latest grid layer of every department, in one round trip.
func (db *DB) TileCatalog(ctx context.Context) (geo.TileCatalog, error) {
	var c geo.TileCatalog
	var depts, attrib []byte
	err := db.Pool.QueryRow(ctx, `
		SELECT coalesce((SELECT id FROM generations WHERE state = 'active'), 0),
		       coalesce((SELECT array_agg(id ORDER BY id) FROM generations), '{}'),
		       coalesce((SELECT json_agg(json_build_object('dept', l.dept_code, 'dept_name', d.name, 'layer_id', l.id,
		                                 'version', l.version, 'name', l.name, 'features', l.feature_count, 'attribution', l.attribution) ORDER BY l.dept_code)
		                 FROM (SELECT DISTINCT ON (dept_code) * FROM source_layers WHERE dept_code IS NOT NULL AND level = 'grid'
		                       ORDER BY dept_code, version DESC) l JOIN departments d ON d.code = l.dept_code), '[]'),
		       coalesce((SELECT json_object_agg(id, array_to_string(attribution, ' · ')) FROM generations WHERE attribution <> '{}'), '{}'),
		       coalesce((SELECT max(id) FROM building_sets), 0)`).
		Scan(&c.Active, &c.Generations, &depts, &attrib, &c.BuildingSet)
	if err != nil {
		return c, geo.WrapError(geo.EUNAVAILABLE, err, "read the tile catalog")
	}
	if err := json.Unmarshal(depts, &c.Depts); err != nil {
		return c, fmt.Errorf("tile catalog: %w", err)
	}
	if err := json.Unmarshal(attrib, &c.Attribution); err != nil {
		return c, fmt.Errorf("tile catalog: %w", err)
	}
	return c, nil
}

// Bounds returns the lon/lat extent of a generation (layerID 0) or of a
// departmental layer version.
func (db *DB) Bounds(ctx context.Context, gen int, layerID int64) (orb.Bound, error) {
	var minX, minY, maxX, maxY *float64
	var err error
	if layerID != 0 {
		err = db.Pool.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
			FROM (SELECT ST_Extent(geom) AS e FROM source_features WHERE layer_id = $1) x`, layerID).Scan(&minX, &minY, &maxX, &maxY)
	} else {
		err = db.Pool.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
			FROM (SELECT ST_Extent(geom) AS e FROM areas WHERE generation = $1 AND level = 'district') x`, gen).Scan(&minX, &minY, &maxX, &maxY)
	}
	if err != nil {
		return orb.Bound{}, geo.WrapError(geo.EUNAVAILABLE, err, "extent")
	}
	if minX == nil {
		return orb.Bound{}, geo.Errorf(geo.ENOTFOUND, "the layer is empty")
	}
	return orb.Bound{Min: orb.Point{*minX, *minY}, Max: orb.Point{*maxX, *maxY}}, nil
}
