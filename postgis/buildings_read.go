package postgis

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// buildingFeatureSQL renders a building of generation $1 as a GeoJSON
// feature with its grid (or, outside every grid, the nearest and its
// distance). Format: the FROM/WHERE part.
const buildingFeatureSQL = `
SELECT json_build_object('type', 'Feature', 'id', b.id,
    'properties', json_strip_nulls(json_build_object('id', b.id, 'name', nullif(b.name, ''), 'address', nullif(b.address, ''),
        'households', b.households, 'residents', b.residents, 'floors', b.floors, 'use', nullif(b.use, ''),
        'generation', $1::int, 'grid', bg.grid_code, 'share', CASE WHEN bg.grid_code IS NOT NULL THEN round(bg.share::numeric, 4) END,
        'nearest_grid', bg.nearest_code, 'distance_m', round(bg.distance_m::numeric, 1))),
    'geometry', ST_AsGeoJSON(b.geom, 7)::json)::text`

// buildingsWhereSQL selects the buildings of area $2 (a code prefix: the
// grids of a community start with its code; ” every building) in
// generation $1 and, when $3 is not ”, those whose address, name or id
// holds it (strpos, not LIKE: an address's characters are never
// wildcards). Codes are digits, so the prefix is a range the
// (generation, grid_code) index answers; the text is matched within it.
const buildingsWhereSQL = `
FROM building_grid bg JOIN buildings b ON b.id = bg.building_id
WHERE bg.generation = $1 AND ($2 = '' OR (bg.grid_code >= $2 AND bg.grid_code <= $2 || '999999999'))
  AND ($3 = '' OR strpos(lower(b.address), lower($3)) > 0 OR strpos(lower(b.name), lower($3)) > 0 OR b.id = $3)`

// buildingsInSQL pages them by id: $4 limit, $5 offset.
const buildingsInSQL = buildingFeatureSQL + buildingsWhereSQL + `
ORDER BY b.id LIMIT $4 OFFSET $5`

const buildingsCountSQL = `SELECT count(*)` + buildingsWhereSQL

const buildingByIDSQL = buildingFeatureSQL + `
FROM buildings b LEFT JOIN building_grid bg ON bg.building_id = b.id AND bg.generation = $1
WHERE b.id = $2`

// BuildingsIn pages through the buildings of an area of a generation (0:
// the active one), or those matching a search text, as GeoJSON features.
func (db *DB) BuildingsIn(ctx context.Context, q geo.BuildingQuery) (geo.FeaturePage, error) {
	var page geo.FeaturePage
	gen, err := db.resolveGeneration(ctx, q.Generation)
	if err != nil {
		return page, err
	}
	pool := db.generationReads(gen)
	if err := pool.QueryRow(ctx, buildingsCountSQL, gen, q.Area, q.Text).Scan(&page.Matched); err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "count buildings")
	}
	rows, err := pool.Query(ctx, buildingsInSQL, gen, q.Area, q.Text, q.Limit, q.Offset)
	if err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "buildings")
	}
	page.Features, err = collectJSON(rows)
	if err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "buildings")
	}
	return page, nil
}

// Building answers one building as a GeoJSON feature with its grid in a
// generation (0: the active one).
func (db *DB) Building(ctx context.Context, generation int, id string) ([]byte, error) {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return nil, err
	}
	var s string
	err = db.generationReads(gen).QueryRow(ctx, buildingByIDSQL, gen, id).Scan(&s)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, geo.Errorf(geo.ENOTFOUND, "no building %q: list them with GET /api/v1/buildings?area=CODE", id)
	}
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "building %s", id)
	}
	return []byte(s), nil
}

// buildingFeaturesFromSQL selects the buildings for OGC API – Features
// with their grid in generation $1: within a lon/lat box ($2-$5, NULL:
// anywhere; points and footprints each through their own index), one by
// id ($6, ”: all).
const buildingFeaturesFromSQL = `
WITH sel AS (
    SELECT b.id, b.geom, jsonb_strip_nulls(jsonb_build_object('id', b.id, 'name', nullif(b.name, ''), 'address', nullif(b.address, ''),
               'households', b.households, 'residents', b.residents, 'floors', b.floors, 'use', nullif(b.use, ''),
               'grid', bg.grid_code, 'nearest_grid', bg.nearest_code, 'distance_m', round(bg.distance_m::numeric, 1))) AS props
    FROM buildings b LEFT JOIN building_grid bg ON bg.generation = $1 AND bg.building_id = b.id
    WHERE ($6 = '' OR b.id = $6)
      AND ($2::float8 IS NULL OR (((GeometryType(b.geom) = 'POINT' AND b.geom && ST_MakeEnvelope($2, $3, $4, $5, 4326))
                                OR (GeometryType(b.geom) = 'MULTIPOLYGON' AND b.geom && ST_MakeEnvelope($2, $3, $4, $5, 4326)))
                               AND ST_Intersects(b.geom, ST_MakeEnvelope($2, $3, $4, $5, 4326))))
)`

// buildingFeaturesPageSQL pages through them by id. $7 limit, $8 offset,
// $9 property names (NULL: all).
const buildingFeaturesPageSQL = buildingFeaturesFromSQL + `
SELECT json_build_object('type', 'Feature', 'id', id,
           'properties', (SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM jsonb_each(props) WHERE $9::text[] IS NULL OR key = ANY ($9)),
           'geometry', ST_AsGeoJSON(geom, 7)::json)::text
FROM sel ORDER BY id LIMIT $7 OFFSET $8`

// buildingFeatures answers the OGC collection of buildings.
func (db *DB) buildingFeatures(ctx context.Context, q geo.FeatureQuery) (geo.FeaturePage, error) {
	var page geo.FeaturePage
	var bbox [4]*float64
	if q.BBox != nil {
		bbox = [4]*float64{&q.BBox.Min[0], &q.BBox.Min[1], &q.BBox.Max[0], &q.BBox.Max[1]}
	}
	args := []any{q.Generation, bbox[0], bbox[1], bbox[2], bbox[3], q.ID}
	pool := db.generationReads(q.Generation)
	if err := pool.QueryRow(ctx, buildingFeaturesFromSQL+`SELECT count(*) FROM sel`, args...).Scan(&page.Matched); err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "count buildings")
	}
	var props any
	if q.Properties != nil {
		props = q.Properties
	}
	rows, err := pool.Query(ctx, buildingFeaturesPageSQL, append(args, q.Limit, q.Offset, props)...)
	if err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "buildings")
	}
	page.Features, err = collectJSON(rows)
	if err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "buildings")
	}
	return page, nil
}

// collectJSON reads rows of one text column, each a JSON document.
func collectJSON(rows pgx.Rows) ([]json.RawMessage, error) {
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (json.RawMessage, error) {
		var s string
		err := r.Scan(&s)
		return json.RawMessage(s), err
	})
}
