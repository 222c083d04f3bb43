package postgis_test

import (
	"context"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"
)

// demoCentre is a point in Yinzhou's urban core.
var demoCentre = orb.Point{121.56, 29.82}

// TestTiles loads the demo city once and checks the prepared geometry and
// the tiles cut from it.
func TestTiles(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	loadDemo(t, db, 11)
	rep := merge(t, db, geo.MergeParams{Base: []string{"zongzhi"}})
	if err := db.Activate(ctx, rep.Generation); err != nil {
		t.Fatal(err)
	}
	gen := rep.Generation

	t.Run("PrepareOnce", func(t *testing.T) {
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = db.PrepareTiles(ctx, gen, geo.DatumWGS84) }()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("prepared generation %d in %v", gen, time.Since(start))
		var builds int
		if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM tile_builds WHERE generation = $1`, gen).Scan(&builds); err != nil {
			t.Fatal(err)
		}
		if builds != 1 {
			t.Errorf("%d tile builds, want 1", builds)
		}
		// A second DB handle (another replica) finds the build done.
		other, err := postgis.Open(ctx, postgis.Config{URL: db.Pool.Config().ConnString()})
		if err != nil {
			t.Fatal(err)
		}
		defer other.Close()
		if err := other.PrepareTiles(ctx, gen, geo.DatumWGS84); err != nil {
			t.Fatal(err)
		}
		if err := db.PrepareTiles(ctx, 999, geo.DatumWGS84); geo.ErrorCode(err) != geo.ENOTFOUND {
			t.Errorf("prepare generation 999: %v, want not found", err)
		}
	})

	t.Run("BandsCoverWithoutGapsOrOverlaps", func(t *testing.T) {
		// Per level and band: every area of the raw band is there; the
		// union of a level's simplified areas has no hole the district
		// lacks; the areas add up to their union (no overlaps).
		rows, err := db.Pool.Query(ctx, `
			WITH lv AS (
			    SELECT band, level, count(*) AS n, sum(ST_Area(geom)) AS total, ST_Union(geom) AS u, bool_and(ST_IsValid(geom)) AS valid
			    FROM tile_areas WHERE generation = $1 AND datum = 'wgs84' GROUP BY band, level
			), holes AS (
			    SELECT band, level, ST_MakePolygon(ST_InteriorRingN((d).geom, i)) AS h
			    FROM (SELECT band, level, ST_Dump(u) AS d FROM lv) x, generate_series(1, ST_NumInteriorRings((d).geom)) i
			), district AS (SELECT ST_Transform(geom, 3857) AS g FROM areas WHERE generation = $1 AND level = 'district')
			SELECT lv.band, lv.level, lv.n, lv.valid, (lv.total - ST_Area(lv.u)) / lv.total,
			       coalesce((SELECT sum(ST_Area(ST_Intersection(h.h, d.g))) FROM holes h, district d WHERE h.band = lv.band AND h.level = lv.level), 0)
			FROM lv ORDER BY lv.level, lv.band`, gen)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		counts := map[string]int{}
		for rows.Next() {
			var band, n int
			var level string
			var valid bool
			var overlap, holeArea float64
			if err := rows.Scan(&band, &level, &n, &valid, &overlap, &holeArea); err != nil {
				t.Fatal(err)
			}
			if band == 8 {
				counts[level] = n
			}
			if !valid {
				t.Errorf("%s band %d: invalid geometry", level, band)
			}
			if overlap > 1e-9 {
				t.Errorf("%s band %d: areas overlap by %.2g of their total", level, band, overlap)
			}
			if holeArea > 1 {
				t.Errorf("%s band %d: the union has holes of %.0f m² inside the district", level, band, holeArea)
			}
			t.Logf("%s band %d: %d areas, overlap %.1g, holes in district %.0f m²", level, band, n, overlap, holeArea)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		// The last band has every area but those smaller than its snapping
		// grid can hold (the merge may leave a grid of a square metre).
		var missing []string
		if err := db.Pool.QueryRow(ctx, `SELECT coalesce(array_agg(code), '{}') FROM areas a WHERE generation = $1 AND ST_Area(ST_Transform(geom, 3857)) > 10
			AND NOT EXISTS (SELECT 1 FROM tile_areas t WHERE t.generation = $1 AND t.datum = 'wgs84' AND t.band = 8 AND t.code = a.code)`, gen).Scan(&missing); err != nil {
			t.Fatal(err)
		}
		if len(missing) > 0 {
			t.Errorf("the last band lacks areas %v", missing)
		}
		// Every band has every area bigger than a few of its snapping cells
		// and wider than two (first zoom and extent per band, as in
		// zoomBands); 2·area/perimeter is about the width of a thin area.
		for band, ze := range [][2]float64{{0, 4096}, {2, 2048}, {4, 1024}, {6, 512}, {8, 512}, {10, 1024}, {12, 4096}, {14, 4096}, {16, 4096}} {
			cell := 40075016.68557849 / ze[1] / math.Exp2(ze[0])
			var lost []string
			if err := db.Pool.QueryRow(ctx, `SELECT coalesce(array_agg(code), '{}') FROM areas a WHERE generation = $1 AND ST_Area(ST_Transform(geom, 3857)) > 50 * $3::float8 ^ 2
				AND 2 * ST_Area(ST_Transform(geom, 3857)) / ST_Perimeter(ST_Transform(geom, 3857)) > 2 * $3::float8
				AND NOT EXISTS (SELECT 1 FROM tile_areas t WHERE t.generation = $1 AND t.datum = 'wgs84' AND t.band = $2 AND t.code = a.code)`, gen, band, cell).Scan(&lost); err != nil {
				t.Fatal(err)
			}
			if len(lost) > 0 {
				t.Errorf("band %d lacks areas of more than 50 cells, wider than 2: %v", band, lost)
			}
		}
		for _, l := range geo.Levels {
			if n := rep.Levels[string(l)].Areas; counts[string(l)] < n-n/500 {
				t.Errorf("last band has %d %s areas, the generation %d", counts[string(l)], l, n)
			}
		}
	})

	t.Run("LowZoomTilesLeaveNoGaps", func(t *testing.T) {
		for _, z := range []maptile.Zoom{8, 9, 10} {
			for _, layer := range []string{"grids", "communities", "streets"} {
				tile := maptile.At(demoCentre, z)
				data, err := db.Tile(ctx, geo.TileQuery{Layer: layer, Generation: gen, Z: int(tile.Z), X: int(tile.X), Y: int(tile.Y)})
				if err != nil {
					t.Fatal(err)
				}
				holes, overlap, n := tileGaps(t, db, gen, tile, layer, data)
				if n < 2 {
					t.Fatalf("%s %v: %d polygons, want many", layer, tile, n)
				}
				if holes > 0 {
					t.Errorf("%s %v: the decoded polygons' union has %.1f px² of holes inside the district", layer, tile, holes)
				}
				if overlap > 1 {
					t.Errorf("%s %v: decoded neighbours overlap by %.1f px²", layer, tile, overlap)
				}
				t.Logf("%s %v: %d polygons, %d bytes, holes %.2f, overlap %.2f (tile units²)", layer, tile, n, len(data), holes, overlap)
			}
		}
		// The check sees gaps where they are: per-feature simplification,
		// as naive servers do, leaves them at the same zoom.
		tile := maptile.At(demoCentre, 9)
		var naive []byte
		if err := db.Pool.QueryRow(ctx, `
			SELECT ST_AsMVT(t, 'grids', 4096, 'geom', 'id') FROM (
			    SELECT code::bigint AS id, ST_AsMVTGeom(ST_Simplify(ST_Transform(geom, 3857), 76), ST_TileEnvelope($2, $3, $4), 4096, 64, true) AS geom
			    FROM areas WHERE generation = $1 AND level = 'grid') t WHERE geom IS NOT NULL`,
			gen, int(tile.Z), int(tile.X), int(tile.Y)).Scan(&naive); err != nil {
			t.Fatal(err)
		}
		if holes, _, _ := tileGaps(t, db, gen, tile, "grids", naive); holes == 0 {
			t.Errorf("per-feature simplification left no holes at %v: the gap check is blind", tile)
		}
	})

	t.Run("DecodedTile", func(t *testing.T) {
		// At z13 (simplified) and z14 (merged geometry): ids are the codes,
		// attributes are the areas', and each decoded polygon's area is
		// close to the area's own within the tile.
		for _, z := range []maptile.Zoom{13, 14} {
			tile := maptile.At(demoCentre, z)
			data, err := db.Tile(ctx, geo.TileQuery{Layer: "grids", Generation: gen, Z: int(tile.Z), X: int(tile.X), Y: int(tile.Y)})
			if err != nil {
				t.Fatal(err)
			}
			layers, err := mvt.Unmarshal(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(layers) != 1 || layers[0].Name != "grids" || layers[0].Extent != 4096 {
				t.Fatalf("layers %+v", layers)
			}
			want := areasInTile(t, db, gen, "grid", tile)
			got := map[string]bool{}
			for _, f := range layers[0].Features {
				code, _ := f.Properties["code"].(string)
				got[code] = true
				if id, ok := f.ID.(float64); !ok || strconv.FormatFloat(id, 'f', 0, 64) != code {
					t.Errorf("feature id %v, code %q", f.ID, code)
				}
				w, ok := want[code]
				if !ok {
					t.Errorf("%v: grid %s is not in the tile", tile, code)
					continue
				}
				if f.Properties["name"] != w.name || f.Properties["parent"] != code[:12] || f.Properties["level"] != "grid" {
					t.Errorf("grid %s: attributes %v, want name %q", code, f.Properties, w.name)
				}
				if hh, ok := f.Properties["households"].(float64); w.households != nil && (!ok || int(hh) != *w.households) {
					t.Errorf("grid %s: households %v, want %d", code, f.Properties["households"], *w.households)
				}
				a := planarArea(f.Geometry)
				if w.area > 400 && math.Abs(a-w.area) > 0.03*w.area+40 {
					t.Errorf("z%d grid %s: decoded area %.0f, source %.0f tile units²", z, code, a, w.area)
				}
			}
			for code, w := range want {
				if !got[code] && w.area > 2 {
					t.Errorf("%v: grid %s (%.0f units² inside) missing", tile, code, w.area)
				}
			}
		}
	})

	t.Run("NamesFromTheirZoom", func(t *testing.T) {
		// Polygon features carry names and households from
		// geo.DetailMinZoom of their level on, codes at every zoom.
		for _, tt := range []struct {
			layer string
			level geo.Level
		}{{"grids", geo.Grid}, {"communities", geo.Community}, {"streets", geo.Street}} {
			for z := max(geo.DetailMinZoom(tt.level)-1, 6); z <= geo.DetailMinZoom(tt.level)+1; z++ {
				tile := maptile.At(demoCentre, maptile.Zoom(z))
				data, err := db.Tile(ctx, geo.TileQuery{Layer: tt.layer, Generation: gen, Z: z, X: int(tile.X), Y: int(tile.Y)})
				if err != nil {
					t.Fatal(err)
				}
				layers, err := mvt.Unmarshal(data)
				if err != nil || len(layers) != 1 || len(layers[0].Features) == 0 {
					t.Fatalf("%s z%d: %v %v", tt.layer, z, layers, err)
				}
				want := z >= geo.DetailMinZoom(tt.level)
				for _, f := range layers[0].Features {
					name, has := f.Properties["name"]
					_, hasHH := f.Properties["households"]
					if has != want || (has && name == "") || (hasHH && !want) || f.Properties["code"] == nil {
						t.Fatalf("%s z%d feature %v: properties %v (names from z%d)", tt.layer, z, f.ID, f.Properties, geo.DetailMinZoom(tt.level))
					}
				}
			}
		}
	})

	t.Run("Labels", func(t *testing.T) {
		tile := maptile.At(demoCentre, 14)
		data, err := db.Tile(ctx, geo.TileQuery{Layer: geo.LabelsLayer, Generation: gen, Z: 14, X: int(tile.X), Y: int(tile.Y)})
		if err != nil {
			t.Fatal(err)
		}
		layers, err := mvt.Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		levels := map[string]int{}
		for _, f := range layers[0].Features {
			code, _ := f.Properties["code"].(string)
			level, _ := f.Properties["level"].(string)
			levels[level]++
			pt, ok := f.Geometry.(orb.Point)
			if !ok {
				t.Fatalf("label %s is a %T", code, f.Geometry)
			}
			if pt[0] < 0 || pt[0] > 4096 || pt[1] < 0 || pt[1] > 4096 {
				continue // in the buffer: checked in its own tile
			}
			var inside bool
			if err := db.Pool.QueryRow(ctx, `SELECT ST_DWithin(ST_SetSRID(ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope($3, $4, $5), 4096, 64, true), 0),
				ST_MakePoint($6, $7), 1) FROM areas WHERE generation = $1 AND code = $2`,
				gen, code, 14, int(tile.X), int(tile.Y), pt[0], pt[1]).Scan(&inside); err != nil {
				t.Fatal(err)
			}
			if !inside || f.Properties["name"] == "" {
				t.Errorf("label %s (%v) at %v is not inside its area", code, f.Properties, pt)
			}
		}
		if levels["grid"] == 0 || levels["community"] == 0 {
			t.Errorf("labels by level at z14: %v", levels)
		}
		// Grid labels only from z14, so a z12 tile has none.
		tile = maptile.At(demoCentre, 12)
		data, err = db.Tile(ctx, geo.TileQuery{Layer: geo.LabelsLayer, Generation: gen, Z: 12, X: int(tile.X), Y: int(tile.Y)})
		if err != nil {
			t.Fatal(err)
		}
		layers, _ = mvt.Unmarshal(data)
		for _, f := range layers[0].Features {
			if f.Properties["level"] == "grid" {
				t.Fatalf("a grid label at z12: %v", f.Properties)
			}
		}
	})

	t.Run("DeptLayer", func(t *testing.T) {
		cat, err := db.TileCatalog(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cat.Active != gen || len(cat.Depts) != 3 {
			t.Fatalf("catalog %+v", cat)
		}
		d := cat.Depts[0]
		tile := maptile.At(demoCentre, 13)
		data, err := db.Tile(ctx, geo.TileQuery{Layer: geo.DeptLayerPrefix + d.Dept, LayerID: d.LayerID, Z: 13, X: int(tile.X), Y: int(tile.Y)})
		if err != nil {
			t.Fatal(err)
		}
		layers, err := mvt.Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		if len(layers) != 1 || layers[0].Name != "dept_"+d.Dept || len(layers[0].Features) == 0 {
			t.Fatalf("dept tile layers %v", layers)
		}
		for _, f := range layers[0].Features {
			var code string
			if err := db.Pool.QueryRow(ctx, `SELECT code FROM source_features WHERE layer_id = $1 AND fid = $2`, d.LayerID, int(f.ID.(float64))).Scan(&code); err != nil {
				t.Fatalf("feature id %v: %v", f.ID, err)
			}
			if f.Properties["code"] != code || f.Properties["dept"] != d.Dept || f.Properties["version"] != float64(d.Version) {
				t.Errorf("dept feature %v: %v, want code %s", f.ID, f.Properties, code)
			}
		}
	})

	t.Run("GCJ02", func(t *testing.T) {
		// The SQL formula is geo's, to the last digits.
		for _, p := range []orb.Point{{121.56, 29.82}, {116.397, 39.908}, {105.0, 35.0}, {73.5, 39.5}, {2.35, 48.85}} {
			var x, y float64
			if err := db.Pool.QueryRow(ctx, `SELECT ST_X(g), ST_Y(g) FROM (SELECT gridd_gcj02(ST_SetSRID(ST_MakePoint($1, $2), 4326)) AS g) s`, p[0], p[1]).Scan(&x, &y); err != nil {
				t.Fatal(err)
			}
			wx, wy := geo.WGS84ToGCJ02(p[0], p[1])
			if math.Abs(x-wx) > 1e-11 || math.Abs(y-wy) > 1e-11 {
				t.Errorf("gridd_gcj02(%v) = %.12f,%.12f, geo says %.12f,%.12f", p, x, y, wx, wy)
			}
		}
		// A GCJ-02 tile shows each grid where geo.WGS84ToGCJ02 puts it:
		// the centroids of the grids wholly inside the tile, decoded, are
		// the offset centroids of the grids, to the tile's resolution.
		tile := maptile.At(demoCentre, 14)
		data, err := db.Tile(ctx, geo.TileQuery{Layer: "grids", Generation: gen, Z: 14, X: int(tile.X), Y: int(tile.Y), Datum: geo.DatumGCJ02})
		if err != nil {
			t.Fatal(err)
		}
		layers, err := mvt.Unmarshal(data)
		if err != nil {
			t.Fatal(err)
		}
		inner := orb.Bound{Min: orb.Point{1, 1}, Max: orb.Point{4095, 4095}}
		var whole []*geojson.Feature
		for _, f := range layers[0].Features {
			if inner.Contains(f.Geometry.Bound().Min) && inner.Contains(f.Geometry.Bound().Max) {
				whole = append(whole, f)
			}
		}
		layers.ProjectToWGS84(tile)
		if len(whole) < 3 {
			t.Fatalf("%d grids wholly inside %v", len(whole), tile)
		}
		for _, f := range whole {
			code := f.Properties["code"].(string)
			var lon, lat float64
			if err := db.Pool.QueryRow(ctx, `SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(geom) AS c FROM areas WHERE generation = $1 AND code = $2) s`, gen, code).Scan(&lon, &lat); err != nil {
				t.Fatal(err)
			}
			gx, gy := geo.WGS84ToGCJ02(lon, lat)
			c, _ := planar.CentroidArea(f.Geometry)
			if d := geoDistance(c, orb.Point{gx, gy}); d > 3 {
				t.Errorf("grid %s: GCJ-02 tile centroid %v is %.1f m from the offset centroid %.6f,%.6f", code, c, d, gx, gy)
			}
			if d := geoDistance(orb.Point{lon, lat}, orb.Point{gx, gy}); d < 100 {
				t.Errorf("grid %s: the GCJ-02 offset is only %.1f m", code, d)
			}
		}
	})
}

// geoDistance is the distance in metres between two lon/lat points.
func geoDistance(a, b orb.Point) float64 {
	const r = 6371008.8
	dx := (b[0] - a[0]) * math.Pi / 180 * math.Cos((a[1]+b[1])/2*math.Pi/180)
	dy := (b[1] - a[1]) * math.Pi / 180
	return r * math.Hypot(dx, dy)
}

// tileGaps decodes a tile of a level and measures, in its tile units², the
// holes of the union of its polygons that lie inside the district, and how
// much the polygons overlap.
func tileGaps(t *testing.T, db *postgis.DB, gen int, tile maptile.Tile, layer string, data []byte) (holes, overlap float64, n int) {
	t.Helper()
	layers, err := mvt.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	var wkts []string
	extent := 4096
	for _, l := range layers {
		extent = int(l.Extent)
		for _, f := range l.Features {
			wkts = append(wkts, wkt.MarshalString(f.Geometry))
		}
	}
	// The district, unsimplified, in the same tile coordinates, clipped to
	// the tile itself (the buffer is clipped on the decoded side too).
	err = db.Pool.QueryRow(context.Background(), `
		WITH p AS (SELECT ST_MakeValid(ST_GeomFromText(w)) AS g FROM unnest($1::text[]) w),
		     box AS (SELECT ST_MakeEnvelope(0, 0, $6, $6) AS b),
		     u AS (SELECT ST_Intersection(ST_UnaryUnion(ST_Collect(g)), b) AS u, sum(ST_Area(ST_Intersection(g, b))) AS total FROM p, box GROUP BY b),
		     d AS (SELECT ST_Intersection(ST_SetSRID(ST_AsMVTGeom(ST_Transform(geom, 3857), ST_TileEnvelope($3, $4, $5), $6::int, $6::int / 64, true), 0), b) AS d
		           FROM areas, box WHERE generation = $2 AND level = 'district'),
		     h AS (SELECT ST_MakePolygon(ST_InteriorRingN((x).geom, i)) AS h
		           FROM (SELECT ST_Dump(u) AS x FROM u) s, generate_series(1, ST_NumInteriorRings((x).geom)) i)
		SELECT coalesce((SELECT sum(ST_Area(ST_Intersection(h.h, d.d))) FROM h, d), 0), (SELECT total - ST_Area(u) FROM u)`,
		wkts, gen, int(tile.Z), int(tile.X), int(tile.Y), extent).Scan(&holes, &overlap)
	if err != nil {
		t.Fatal(err)
	}
	return holes, overlap, len(wkts)
}

type areaInTile struct {
	name       string
	households *int
	area       float64 // inside the tile, in tile units²
}

func areasInTile(t *testing.T, db *postgis.DB, gen int, level string, tile maptile.Tile) map[string]areaInTile {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `
		SELECT a.code, a.name, coalesce(n.households, a.households), ST_Area(ST_Intersection(ST_SetSRID(ST_AsMVTGeom(ST_Transform(a.geom, 3857), ST_TileEnvelope($3, $4, $5), 4096, 64, true), 0), ST_MakeEnvelope(0, 0, 4096, 4096)))
		FROM areas a LEFT JOIN area_counts n ON n.generation = a.generation AND n.code = a.code
		WHERE a.generation = $1 AND a.level = $2 AND ST_Intersects(a.geom, ST_Transform(ST_TileEnvelope($3, $4, $5, margin => 64.0 / 4096), 4326))`,
		gen, level, int(tile.Z), int(tile.X), int(tile.Y))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]areaInTile{}
	for rows.Next() {
		var code string
		var a areaInTile
		var area *float64
		if err := rows.Scan(&code, &a.name, &a.households, &area); err != nil {
			t.Fatal(err)
		}
		if area != nil {
			a.area = *area
		}
		out[code] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// planarArea is the area of a decoded polygon inside the tile proper.
func planarArea(g orb.Geometry) float64 {
	clip := func(p orb.Polygon) float64 {
		a := 0.0
		for i, r := range p {
			ra := 0.0
			for j := 0; j+1 < len(r); j++ {
				ra += r[j][0]*r[j+1][1] - r[j+1][0]*r[j][1]
			}
			if i == 0 {
				a += math.Abs(ra) / 2
			} else {
				a -= math.Abs(ra) / 2
			}
		}
		return a
	}
	switch g := g.(type) {
	case orb.Polygon:
		return clip(clipToTile(g))
	case orb.MultiPolygon:
		s := 0.0
		for _, p := range g {
			s += clip(clipToTile(p))
		}
		return s
	}
	return 0
}

// clipToTile clips a polygon in tile coordinates to 0..4096 (a polygon
// clipped against a convex box with Sutherland–Hodgman).
func clipToTile(p orb.Polygon) orb.Polygon {
	out := make(orb.Polygon, 0, len(p))
	for _, r := range p {
		pts := []orb.Point(r)
		for _, e := range []struct {
			in  func(orb.Point) bool
			cut func(a, b orb.Point) orb.Point
		}{
			{func(q orb.Point) bool { return q[0] >= 0 }, func(a, b orb.Point) orb.Point { return lerp(a, b, (0-a[0])/(b[0]-a[0])) }},
			{func(q orb.Point) bool { return q[0] <= 4096 }, func(a, b orb.Point) orb.Point { return lerp(a, b, (4096-a[0])/(b[0]-a[0])) }},
			{func(q orb.Point) bool { return q[1] >= 0 }, func(a, b orb.Point) orb.Point { return lerp(a, b, (0-a[1])/(b[1]-a[1])) }},
			{func(q orb.Point) bool { return q[1] <= 4096 }, func(a, b orb.Point) orb.Point { return lerp(a, b, (4096-a[1])/(b[1]-a[1])) }},
		} {
			var next []orb.Point
			for i := range pts {
				a, b := pts[i], pts[(i+1)%len(pts)]
				switch {
				case e.in(a) && e.in(b):
					next = append(next, b)
				case e.in(a):
					next = append(next, e.cut(a, b))
				case e.in(b):
					next = append(next, e.cut(a, b), b)
				}
			}
			pts = next
			if len(pts) == 0 {
				break
			}
		}
		if len(pts) > 0 {
			pts = append(pts, pts[0])
		}
		out = append(out, orb.Ring(pts))
	}
	return out
}

func lerp(a, b orb.Point, f float64) orb.Point {
	return orb.Point{a[0] + f*(b[0]-a[0]), a[1] + f*(b[1]-a[1])}
}

func planarContains(p orb.Polygon, q orb.Point) bool {
	in := false
	for _, r := range p {
		for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
			if (r[i][1] > q[1]) != (r[j][1] > q[1]) && q[0] < (r[j][0]-r[i][0])*(q[1]-r[i][1])/(r[j][1]-r[i][1])+r[i][0] {
				in = !in
			}
		}
	}
	return in
}
