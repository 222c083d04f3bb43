package postgis

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// exportAreasSQL lists the areas of one level of a generation for export,
// their households counted from buildings where they are loaded (else the
// attribute) with the source stated.
const exportAreasSQL = `
SELECT a.code, a.name, a.parent_code, a.level, coalesce(n.households, a.households),
       CASE WHEN n.code IS NOT NULL THEN 'data' WHEN a.households IS NOT NULL THEN 'attribute' ELSE '' END,
       a.population, round(a.area_m2::numeric, 1)::float8, a.review,
       CASE WHEN $3 THEN ST_AsGeoJSON(a.geom, 7) ELSE ST_AsText(a.geom, 7) END
FROM areas a LEFT JOIN area_counts n ON n.generation = a.generation AND n.code = a.code
WHERE a.generation = $1 AND a.level = $2 ORDER BY a.code`

// ExportAreas writes one level of a generation (0: active) as a GeoJSON
// FeatureCollection (EPSG:4326) or as CSV with WKT, streaming row by row.
func (db *DB) ExportAreas(ctx context.Context, generation int, level geo.Level, format string, w io.Writer) error {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return err
	}
	if format != "geojson" && format != "csv" {
		return geo.Errorf(geo.EINVALID, "export format %q: use geojson or csv", format)
	}
	rows, err := db.generationReads(gen).Query(ctx, exportAreasSQL, gen, string(level), format == "geojson")
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "export")
	}
	defer rows.Close()
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(w)
		cw.Write([]string{"code", "name", "parent", "level", "households", "households_source", "population", "area_m2", "review", "wkt"})
	} else {
		fmt.Fprintf(w, `{"type":"FeatureCollection","name":"%s","generation":%d,"features":[`, level.Plural(), gen)
	}
	n := 0
	for rows.Next() {
		var code, name, parent, lvl, hhSource, review, geom string
		var hh, pop *int
		var area float64
		if err := rows.Scan(&code, &name, &parent, &lvl, &hh, &hhSource, &pop, &area, &review, &geom); err != nil {
			return err
		}
		if cw != nil {
			cw.Write([]string{code, name, parent, lvl, intOrEmpty(hh), hhSource, intOrEmpty(pop), strconv.FormatFloat(area, 'f', 1, 64), review, geom})
			continue
		}
		props, _ := json.Marshal(map[string]any{"code": code, "name": name, "parent": parent, "level": lvl,
			"households": hh, "households_source": hhSource, "population": pop, "area_m2": area, "review": review})
		if n > 0 {
			io.WriteString(w, ",")
		}
		fmt.Fprintf(w, "\n{\"type\":\"Feature\",\"id\":%s,\"properties\":%s,\"geometry\":%s}", code, props, geom)
		n++
	}
	if err := rows.Err(); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "export")
	}
	if cw != nil {
		cw.Flush()
		return cw.Error()
	}
	_, err = io.WriteString(w, "\n]}\n")
	return err
}

// eachAreaSQL streams the areas of one level of a generation with their
// exact geometry (WKB, no rounding) for the file exporters.
// Households are counted from buildings where they are loaded.
const eachAreaSQL = `
SELECT a.code, a.name, a.parent_code, coalesce(n.households, a.households), a.population, round(a.area_m2::numeric, 1)::float8, a.review,
       ST_AsBinary(a.geom, 'NDR')
FROM areas a LEFT JOIN area_counts n ON n.generation = a.generation AND n.code = a.code
WHERE a.generation = $1 AND a.level = $2 ORDER BY a.code`

// EachArea calls fn with every area of one level of a generation (0: the
// active one), in code order, with its area in m² and the merge's reason
// to review it ("" for none). Rows stream: memory holds one area at a
// time. An error from fn stops the iteration and is returned as is.
func (db *DB) EachArea(ctx context.Context, generation int, level geo.Level, fn func(a geo.Area, areaM2 float64, review string) error) error {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return err
	}
	rows, err := db.Pool.Query(ctx, eachAreaSQL, gen, string(level))
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "export")
	}
	defer rows.Close()
	for rows.Next() {
		a := geo.Area{Generation: gen, Level: level}
		var areaM2 float64
		var review string
		var b []byte
		if err := rows.Scan(&a.Code, &a.Name, &a.ParentCode, &a.Households, &a.Population, &areaM2, &review, &b); err != nil {
			return geo.WrapError(geo.EUNAVAILABLE, err, "export")
		}
		g, err := wkb.Unmarshal(b)
		if err != nil {
			return geo.WrapError(geo.EINTERNAL, err, "area %s of generation %d", a.Code, gen)
		}
		switch g := g.(type) {
		case orb.MultiPolygon:
			a.Geometry = g
		case orb.Polygon:
			a.Geometry = orb.MultiPolygon{g}
		default:
			return geo.Errorf(geo.EINTERNAL, "area %s of generation %d is a %s, not a polygon", a.Code, gen, g.GeoJSONType())
		}
		if err := fn(a, areaM2, review); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "export")
	}
	return nil
}

func intOrEmpty(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

// ExportCrosswalk writes the crosswalk of one department for a generation
// (0: active) as CSV: one row per (departmental grid, unified grid), with
// the share of each's area; the unified grid is empty for the part of a
// departmental grid outside the coverage.
func (db *DB) ExportCrosswalk(ctx context.Context, generation int, dept string, w io.Writer) error {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return err
	}
	var known bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM departments WHERE code = $1)`, dept).Scan(&known); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "crosswalk")
	}
	if !known {
		return geo.Errorf(geo.EINVALID, "unknown department %q", dept)
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT c.source_code, f.name, c.grid_code, coalesce(a.name, ''), c.source_share, c.grid_share, c.area_m2
		FROM crosswalk c JOIN source_features f ON f.layer_id = c.layer_id AND f.id = c.feature_id
		LEFT JOIN areas a ON a.generation = c.generation AND a.code = c.grid_code
		WHERE c.generation = $1 AND c.dept_code = $2
		ORDER BY c.source_code, f.id, c.source_share DESC`, gen, dept)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "crosswalk")
	}
	defer rows.Close()
	cw := csv.NewWriter(w)
	cw.Write([]string{"dept_grid_code", "dept_grid_name", "grid_code", "grid_name", "dept_share", "grid_share", "area_m2"})
	for rows.Next() {
		var sc, sn, gc, gn string
		var ss float64
		var gs *float64
		var a float64
		if err := rows.Scan(&sc, &sn, &gc, &gn, &ss, &gs, &a); err != nil {
			return err
		}
		g := ""
		if gs != nil {
			g = strconv.FormatFloat(*gs, 'f', 6, 64)
		}
		cw.Write([]string{sc, sn, gc, gn, strconv.FormatFloat(ss, 'f', 6, 64), g, strconv.FormatFloat(a, 'f', 1, 64)})
	}
	if err := rows.Err(); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "crosswalk")
	}
	cw.Flush()
	return cw.Error()
}

// WritePieces writes the pieces a merge changed (overlaps resolved, gaps
// filled, slivers absorbed, splits, new grids), optionally of one kind, as
// a GeoJSON FeatureCollection for review on the map.
func (db *DB) WritePieces(ctx context.Context, generation int, kind string, w io.Writer) error {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return err
	}
	rows, err := db.Pool.Query(ctx, `
		SELECT id, kind, level, code, other, parent, area_m2, ST_AsGeoJSON(geom, 7)
		FROM merge_pieces WHERE generation = $1 AND ($2 = '' OR kind = $2) ORDER BY id`, gen, kind)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "merge pieces")
	}
	defer rows.Close()
	io.WriteString(w, `{"type":"FeatureCollection","features":[`)
	n := 0
	for rows.Next() {
		var id int64
		var k, level, code, other, parent, g string
		var a float64
		if err := rows.Scan(&id, &k, &level, &code, &other, &parent, &a, &g); err != nil {
			return err
		}
		props, _ := json.Marshal(map[string]any{"kind": k, "level": level, "code": code, "other": other, "parent": parent, "area_m2": a})
		if n > 0 {
			io.WriteString(w, ",")
		}
		fmt.Fprintf(w, "\n{\"type\":\"Feature\",\"id\":%d,\"properties\":%s,\"geometry\":%s}", id, props, g)
		n++
	}
	if err := rows.Err(); err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "merge pieces")
	}
	_, err = io.WriteString(w, "\n]}\n")
	return err
}
