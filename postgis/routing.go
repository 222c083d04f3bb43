package postgis

import (
	"context"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// indexAreasSQL reads what the in-memory point index is built from: every
// area's code, name and parent, and the exact geometry (WKB, no rounding)
// of the grids and districts.
const indexAreasSQL = `
SELECT level, code, name, parent_code,
       CASE WHEN level IN ('grid', 'district') THEN ST_AsBinary(geom, 'NDR') END
FROM areas WHERE generation = $1`

// IndexAreas returns the areas of generation gen (0: the active one) for
// routing.Build: grids and districts with geometry, the others without.
func (db *DB) IndexAreas(ctx context.Context, generation int) ([]geo.Area, error) {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, indexAreasSQL, gen)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "load generation %d", gen)
	}
	defer rows.Close()
	var out []geo.Area
	for rows.Next() {
		a := geo.Area{Generation: gen}
		var level string
		var b []byte
		if err := rows.Scan(&level, &a.Code, &a.Name, &a.ParentCode, &b); err != nil {
			return nil, err
		}
		a.Level = geo.Level(level)
		if b != nil {
			g, err := wkb.Unmarshal(b)
			if err != nil {
				return nil, geo.WrapError(geo.EINTERNAL, err, "area %s of generation %d", a.Code, gen)
			}
			switch g := g.(type) {
			case orb.MultiPolygon:
				a.Geometry = g
			case orb.Polygon:
				a.Geometry = orb.MultiPolygon{g}
			default:
				return nil, geo.Errorf(geo.EINTERNAL, "area %s of generation %d is a %s, not a polygon", a.Code, gen, g.GeoJSONType())
			}
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "load generation %d", gen)
	}
	return out, nil
}
