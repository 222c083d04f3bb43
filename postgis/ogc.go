package postgis

import (
	"context"
	"encoding/json"

	"github.com/gridd/gridd/geo"
)

// featuresFromSQL selects the features a FeatureQuery names, with their
// GeoJSON properties, id and geometry: areas of a level of a generation
// ($1, $2), or the features of a departmental layer version ($3), within
// a lon/lat box ($4-$7, NULL: anywhere), one by id ($8, ”: all). An
// area's households are counted from buildings where they are loaded,
// else the attribute, and households_source says which.
const featuresFromSQL = `
WITH f AS (
    SELECT a.code AS id, a.code AS sort_key, a.geom,
           jsonb_build_object('code', a.code, 'name', a.name, 'level', a.level, 'parent', a.parent_code,
                              'households', coalesce(n.households, a.households),
                              'households_source', CASE WHEN n.code IS NOT NULL THEN 'data' WHEN a.households IS NOT NULL THEN 'attribute' END,
                              'buildings', n.buildings, 'residents', n.residents,
                              'population', a.population, 'area_m2', round(a.area_m2::numeric, 1)) AS props
    FROM areas a LEFT JOIN area_counts n ON n.generation = a.generation AND n.code = a.code
    WHERE $3::bigint = 0 AND a.generation = $1 AND a.level = $2 AND ($8 = '' OR a.code = $8)
    UNION ALL
    SELECT s.fid::text, lpad(s.fid::text, 10, '0'), s.geom,
           jsonb_build_object('code', s.code, 'name', s.name, 'parent', s.parent_code, 'households', s.households,
                              'population', s.population, 'dept', l.dept_code, 'version', l.version)
    FROM source_features s JOIN source_layers l ON l.id = s.layer_id
    WHERE $3::bigint <> 0 AND s.layer_id = $3 AND ($8 = '' OR s.fid::text = $8)
), sel AS (
    SELECT * FROM f
    WHERE $4::float8 IS NULL OR (f.geom && ST_MakeEnvelope($4, $5, $6, $7, 4326) AND ST_Intersects(f.geom, ST_MakeEnvelope($4, $5, $6, $7, 4326)))
)`

// featuresPageSQL pages through them in a stable order. $9 limit, $10
// offset, $11 property names (NULL: all).
const featuresPageSQL = featuresFromSQL + `
SELECT json_build_object('type', 'Feature', 'id', id,
           'properties', (SELECT coalesce(jsonb_object_agg(key, value), '{}') FROM jsonb_each(props) WHERE $11::text[] IS NULL OR key = ANY ($11)),
           'geometry', ST_AsGeoJSON(geom, 7)::json)::text
FROM sel ORDER BY sort_key LIMIT $9 OFFSET $10`

const featuresCountSQL = featuresFromSQL + `SELECT count(*) FROM sel`

// Features returns a page of the features of a level of a generation or of
// a departmental layer version as GeoJSON (lon/lat, 7 decimals), and how
// many match in all.
func (db *DB) Features(ctx context.Context, q geo.FeatureQuery) (geo.FeaturePage, error) {
	if q.Buildings {
		return db.buildingFeatures(ctx, q)
	}
	var bbox [4]*float64
	if q.BBox != nil {
		bbox = [4]*float64{&q.BBox.Min[0], &q.BBox.Min[1], &q.BBox.Max[0], &q.BBox.Max[1]}
	}
	var props []string
	if q.Properties != nil {
		props = q.Properties
	}
	args := []any{q.Generation, string(q.Level), q.LayerID, bbox[0], bbox[1], bbox[2], bbox[3], q.ID}
	var page geo.FeaturePage
	pool := db.Pool
	if q.Generation > 0 {
		pool = db.generationReads(q.Generation)
	}
	if err := pool.QueryRow(ctx, featuresCountSQL, args...).Scan(&page.Matched); err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "count features")
	}
	var propsArg any
	if props != nil {
		propsArg = props
	}
	rows, err := pool.Query(ctx, featuresPageSQL, append(args, q.Limit, q.Offset, propsArg)...)
	if err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "features")
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return page, err
		}
		page.Features = append(page.Features, json.RawMessage(s))
	}
	if err := rows.Err(); err != nil {
		return page, geo.WrapError(geo.EUNAVAILABLE, err, "features")
	}
	return page, nil
}
