package postgis

import (
	"context"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// locateSQL finds the area at each level covering the point. Where a point
// lies on a border shared by two areas of a level, the smaller code wins,
// the same rule as the in-memory index.
const locateSQL = `
SELECT DISTINCT ON (level) level, code, name
FROM areas
WHERE generation = $1 AND ST_Covers(geom, ST_SetSRID(ST_MakePoint($2, $3), 4326))
ORDER BY level, code`

// Locate answers from the database which areas cover pt. It is the
// reference the in-memory index is checked against.
func (db *DB) Locate(ctx context.Context, pt orb.Point, generation int) (geo.Chain, error) {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return geo.Chain{}, err
	}
	rows, err := db.Pool.Query(ctx, locateSQL, gen, pt.Lon(), pt.Lat())
	if err != nil {
		return geo.Chain{}, geo.WrapError(geo.EUNAVAILABLE, err, "locate")
	}
	defer rows.Close()
	chain := geo.Chain{Generation: gen}
	for rows.Next() {
		var level string
		var ref geo.AreaRef
		if err := rows.Scan(&level, &ref.Code, &ref.Name); err != nil {
			return geo.Chain{}, err
		}
		r := ref
		switch geo.Level(level) {
		case geo.District:
			chain.District = &r
		case geo.Street:
			chain.Street = &r
		case geo.Community:
			chain.Community = &r
		case geo.Grid:
			chain.Grid = &r
		}
	}
	if err := rows.Err(); err != nil {
		return geo.Chain{}, geo.WrapError(geo.EUNAVAILABLE, err, "locate")
	}
	if chain.District == nil && chain.Street == nil && chain.Community == nil && chain.Grid == nil {
		return geo.Chain{}, geo.Errorf(geo.ENOTFOUND, "no area of generation %d covers %.6f,%.6f", gen, pt.Lon(), pt.Lat())
	}
	return chain, nil
}
