package postgis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/gridd/gridd/postgis"
	"github.com/paulmach/orb"
)

// buildingCity is one district, street and community split into two grids
// that share the edge lon 121.51: 330212001001001 west of it, …002 east.
func buildingCity(t *testing.T, db *postgis.DB, state string) int {
	t.Helper()
	ctx := context.Background()
	rect := func(x0, x1 float64) string {
		return fmt.Sprintf("MULTIPOLYGON(((%[1]g 29.80,%[2]g 29.80,%[2]g 29.81,%[1]g 29.81,%[1]g 29.80)))", x0, x1)
	}
	var gen int
	if err := db.Pool.QueryRow(ctx, `INSERT INTO generations (state, note) VALUES ($1, 'building test') RETURNING id`, state).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct{ level, code, parent, wkt string }{
		{"district", "330212", "", rect(121.50, 121.52)},
		{"street", "330212001", "330212", rect(121.50, 121.52)},
		{"community", "330212001001", "330212001", rect(121.50, 121.52)},
		{"grid", "330212001001001", "330212001001", rect(121.50, 121.51)},
		{"grid", "330212001001002", "330212001001", rect(121.51, 121.52)},
	} {
		if _, err := db.Pool.Exec(ctx, `INSERT INTO areas (generation, level, code, name, parent_code, households, geom) VALUES ($1, $2, $3, $3, $4, 999, ST_GeomFromText($5, 4326))`,
			gen, a.level, a.code, a.parent, a.wkt); err != nil {
			t.Fatal(err)
		}
	}
	return gen
}

func intp(n int) *int { return &n }

// footprint is a lon/lat rectangle.
func footprint(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

// buildingStream yields bs, then io.EOF.
func buildingStream(bs []geo.Building) func() (geo.Building, error) {
	i := 0
	return func() (geo.Building, error) {
		if i == len(bs) {
			return geo.Building{}, io.EOF
		}
		i++
		b := bs[i-1]
		return b, nil
	}
}

func importBuildings(t *testing.T, db *postgis.DB, hash string, bs []geo.Building) geo.ImportReport {
	t.Helper()
	var rep geo.ImportReport
	meta := geo.BuildingMeta{Name: "test", FileName: "b.geojson", FileHash: hash, SRID: 4326, SRSLabel: "EPSG:4326"}
	if err := db.ImportBuildings(context.Background(), meta, buildingStream(bs), &rep); err != nil {
		t.Fatalf("import buildings: %v", err)
	}
	return rep
}

// gridOf answers the grid (or "" outside) and distance of a building in gen.
func gridOf(t *testing.T, db *postgis.DB, gen int, id string) (string, float64) {
	t.Helper()
	var code *string
	var dist *float64
	if err := db.Pool.QueryRow(context.Background(), `SELECT grid_code, distance_m FROM building_grid WHERE generation = $1 AND building_id = $2`, gen, id).Scan(&code, &dist); err != nil {
		t.Fatalf("building %s in generation %d: %v", id, gen, err)
	}
	c, d := "", 0.0
	if code != nil {
		c = *code
	}
	if dist != nil {
		d = *dist
	}
	return c, d
}

func testBuildings() []geo.Building {
	return []geo.Building{
		{ID: "B1", Name: "一号楼", Address: "中山东路12号", Households: intp(100), Residents: intp(250), Floors: intp(6), Use: "住宅", Geometry: orb.Point{121.505, 29.805}},
		// On the shared edge: locate's rule gives the smaller code.
		{ID: "B2", Households: intp(40), Residents: intp(90), Use: "residential", Geometry: orb.Point{121.51, 29.805}},
		// A footprint with 70 % east of the edge.
		{ID: "B3", Households: intp(60), Use: "商铺", Geometry: footprint(121.5097, 29.806, 121.5107, 29.807)},
		// Outside: about 0.001° (≈ 111 m) north of the grids.
		{ID: "B4", Households: intp(5), Use: "仓储站", Geometry: orb.Point{121.515, 29.811}},
		{ID: "B5", Address: "中山东路14号", Households: intp(10), Residents: intp(20), Geometry: orb.Point{121.515, 29.805}},
	}
}

func TestBuildingImportAssign(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	gen := buildingCity(t, db, "active")
	rep := importBuildings(t, db, "h1", testBuildings())
	b := rep.Buildings
	if b.Added != 5 || b.Points != 4 || b.Footprints != 1 || len(b.Assignments) != 1 {
		t.Fatalf("report %+v", b)
	}
	if b.UnknownUses["仓储站"] != 1 {
		t.Errorf("unknown uses %v, want 仓储站 ×1", b.UnknownUses)
	}
	a := b.Assignments[0]
	if a.Assigned != 4 || a.Outside != 1 || len(a.OutsideList) != 1 || a.OutsideList[0].ID != "B4" || a.OutsideList[0].NearestGrid != "330212001001002" {
		t.Fatalf("assignment %+v", a)
	}
	for _, c := range []struct {
		id, grid string
	}{{"B1", "330212001001001"}, {"B2", "330212001001001"}, {"B3", "330212001001002"}, {"B5", "330212001001002"}, {"B4", ""}} {
		got, dist := gridOf(t, db, gen, c.id)
		if got != c.grid {
			t.Errorf("building %s in grid %q, want %q", c.id, got, c.grid)
		}
		if c.grid == "" && (dist < 100 || dist > 125) {
			t.Errorf("building %s is %.1f m from the nearest grid, want ≈ 111", c.id, dist)
		}
	}
	// B2 follows locate.
	chain, err := db.Locate(ctx, orb.Point{121.51, 29.805}, gen)
	if err != nil || chain.Grid == nil || chain.Grid.Code != "330212001001001" {
		t.Fatalf("locate on the edge: %+v %v", chain, err)
	}
	// Roll-up: the sums of the buildings, per level.
	want := map[string][3]int{
		"330212001001001": {2, 140, 340},
		"330212001001002": {2, 70, 20},
		"330212001001":    {4, 210, 360},
		"330212001":       {4, 210, 360},
		"330212":          {4, 210, 360},
	}
	rows, err := db.Pool.Query(ctx, `SELECT code, buildings, households, residents FROM area_counts WHERE generation = $1`, gen)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][3]int{}
	for rows.Next() {
		var code string
		var n [3]int
		if err := rows.Scan(&code, &n[0], &n[1], &n[2]); err != nil {
			t.Fatal(err)
		}
		got[code] = n
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	// The API's reads: an area's buildings, paged, and one outside.
	page, err := db.BuildingsIn(ctx, geo.BuildingQuery{Area: "330212001001", Offset: 1, Limit: 2})
	if err != nil || page.Matched != 4 || len(page.Features) != 2 || !strings.Contains(string(page.Features[0]), `"id":"B2"`) {
		t.Errorf("buildings of the community, page 2: %d matched, %s, %v", page.Matched, page.Features, err)
	}
	if page, err := db.BuildingsIn(ctx, geo.BuildingQuery{Generation: gen, Area: "330212001001002", Limit: 10}); err != nil || page.Matched != 2 {
		t.Errorf("buildings of grid 002: %+v %v", page, err)
	}
	// Search by address (门牌), name or id, within an area or everywhere.
	for _, c := range []struct {
		area, text string
		want       []string
	}{
		{"", "中山东路", []string{"B1", "B5"}},
		{"330212001001001", "中山东路", []string{"B1"}},
		{"", "一号楼", []string{"B1"}},
		{"", "B3", []string{"B3"}},
		{"", "中山东路%", nil}, // no wildcard
		{"", "解放路", nil},
	} {
		page, err := db.BuildingsIn(ctx, geo.BuildingQuery{Area: c.area, Text: c.text, Limit: 10})
		var ids []string
		for _, f := range page.Features {
			var v struct{ ID string }
			json.Unmarshal(f, &v)
			ids = append(ids, v.ID)
		}
		if err != nil || page.Matched != len(c.want) || fmt.Sprint(ids) != fmt.Sprint(c.want) {
			t.Errorf("search %q in %q: %v (%d matched), want %v; %v", c.text, c.area, ids, page.Matched, c.want, err)
		}
	}
	f, err := db.Building(ctx, 0, "B4")
	if err != nil || !strings.Contains(string(f), `"nearest_grid":"330212001001002"`) || strings.Contains(string(f), `"grid"`) {
		t.Errorf("building B4: %s %v", f, err)
	}
	if _, err := db.Building(ctx, 0, "nope"); geo.ErrorCode(err) != geo.ENOTFOUND {
		t.Errorf("unknown building: %v", err)
	}
	// The same sums straight from the buildings.
	var sumHH int
	if err := db.Pool.QueryRow(ctx, `SELECT sum(b.households) FROM buildings b JOIN building_grid bg ON bg.building_id = b.id AND bg.generation = $1 WHERE bg.grid_code IS NOT NULL`, gen).Scan(&sumHH); err != nil {
		t.Fatal(err)
	}
	if sumHH != got["330212"][1] {
		t.Errorf("district households %d, buildings sum %d", got["330212"][1], sumHH)
	}
}

func TestBuildingReimport(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	gen := buildingCity(t, db, "active")
	importBuildings(t, db, "h1", testBuildings())
	// Identical file: a no-op.
	rep := importBuildings(t, db, "h1", testBuildings())
	if !rep.Unchanged || rep.Version != 1 {
		t.Fatalf("identical re-import: %+v", rep)
	}
	// Changed: B1 moves east, B5 goes, B6 comes, B2 gets more households.
	bs := testBuildings()
	bs[0].Geometry = orb.Point{121.515, 29.801}
	bs[1].Households = intp(41)
	bs = append(bs[:4], geo.Building{ID: "B6", Households: intp(7), Geometry: orb.Point{121.501, 29.801}})
	rep = importBuildings(t, db, "h2", bs)
	b := rep.Buildings
	if rep.Version != 2 || b.Added != 1 || b.Removed != 1 || b.Changed != 2 || b.Same != 2 {
		t.Fatalf("changed re-import: version %d, %+v", rep.Version, b)
	}
	if got, _ := gridOf(t, db, gen, "B1"); got != "330212001001002" {
		t.Errorf("moved B1 in grid %q", got)
	}
	var n, hh int
	if err := db.Pool.QueryRow(ctx, `SELECT buildings, households FROM area_counts WHERE generation = $1 AND code = '330212'`, gen).Scan(&n, &hh); err != nil {
		t.Fatal(err)
	}
	if n != 4 || hh != 100+41+60+7 {
		t.Errorf("district after re-import: %d buildings, %d households", n, hh)
	}
}

func TestBuildingBadInputChangesNothing(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	buildingCity(t, db, "active")
	importBuildings(t, db, "h1", testBuildings())
	state := func() string {
		var s string
		if err := db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM building_sets) || '/' || (SELECT md5(string_agg(id || digest, ',' ORDER BY id)) FROM buildings)
			|| '/' || (SELECT md5(string_agg(building_id || coalesce(grid_code, ''), ',' ORDER BY building_id)) FROM building_grid)`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A first import goes straight into buildings: a duplicate id there is
	// refused as well, and leaves nothing behind.
	fresh := pgtest.NewDB(t)
	var rep geo.ImportReport
	err := fresh.ImportBuildings(ctx, geo.BuildingMeta{FileName: "dup.geojson", FileHash: "d", SRID: 4326, SRSLabel: "EPSG:4326"},
		buildingStream(append(testBuildings(), geo.Building{ID: "B3", Geometry: orb.Point{121.501, 29.801}})), &rep)
	var n int
	fresh.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM buildings) + (SELECT count(*) FROM building_sets)`).Scan(&n)
	if geo.ErrorCode(err) != geo.EINVALID || n != 0 {
		t.Errorf("first import with a duplicate id: %v, %d rows left", err, n)
	}
	t.Logf("first import, duplicate: %v", err)
	before := state()
	for _, c := range []struct {
		name string
		bs   []geo.Building
	}{
		{"duplicate id", append(testBuildings(), geo.Building{ID: "B1", Geometry: orb.Point{121.501, 29.801}})},
		{"a line", append(testBuildings(), geo.Building{ID: "L", Geometry: orb.LineString{{121.501, 29.801}, {121.502, 29.802}}})},
		{"no geometry", append(testBuildings(), geo.Building{ID: "N"})},
		{"outside China", append(testBuildings(), geo.Building{ID: "X", Geometry: orb.Point{2.35, 48.85}})},
		{"empty", nil},
	} {
		var rep geo.ImportReport
		meta := geo.BuildingMeta{FileName: "bad.geojson", FileHash: "bad " + c.name, SRID: 4326, SRSLabel: "EPSG:4326"}
		err := db.ImportBuildings(ctx, meta, buildingStream(c.bs), &rep)
		if geo.ErrorCode(err) != geo.EINVALID {
			t.Errorf("%s: error %v, want invalid", c.name, err)
			continue
		}
		t.Logf("%s: %v", c.name, err)
		if after := state(); after != before {
			t.Errorf("%s changed the database: %s → %s", c.name, before, after)
		}
	}
}

// TestBuildingFootprintsProjected imports footprints in a projected
// coordinate system (CGCS2000 3° zone 40, EPSG:4528) and finds them where
// their lon/lat twins are, in the OGC collection too.
func TestBuildingFootprintsProjected(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	gen := buildingCity(t, db, "active")
	var x0, y0, x1, y1 float64
	if err := db.Pool.QueryRow(ctx, `SELECT ST_X(a), ST_Y(a), ST_X(b), ST_Y(b) FROM (SELECT
		ST_Transform(ST_SetSRID(ST_MakePoint(121.5097, 29.806), 4326), 4528) AS a,
		ST_Transform(ST_SetSRID(ST_MakePoint(121.5107, 29.807), 4326), 4528) AS b) p`).Scan(&x0, &y0, &x1, &y1); err != nil {
		t.Fatal(err)
	}
	var rep geo.ImportReport
	meta := geo.BuildingMeta{FileName: "gk.shp", FileHash: "gk", SRID: 4528, SRSFromUser: true, SRSLabel: "EPSG:4528"}
	bs := []geo.Building{{ID: "F1", Households: intp(30), Geometry: footprint(x0, y0, x1, y1)}}
	if err := db.ImportBuildings(ctx, meta, buildingStream(bs), &rep); err != nil {
		t.Fatal(err)
	}
	if got, _ := gridOf(t, db, gen, "F1"); got != "330212001001002" {
		t.Errorf("projected footprint in grid %q, want the one holding 70 %% of it", got)
	}
	page, err := db.Features(ctx, geo.FeatureQuery{Buildings: true, Generation: gen, Limit: 10,
		BBox: &orb.Bound{Min: orb.Point{121.509, 29.805}, Max: orb.Point{121.511, 29.808}}})
	if err != nil || page.Matched != 1 || !strings.Contains(string(page.Features[0]), `"grid": "330212001001002"`) && !strings.Contains(string(page.Features[0]), `"grid":"330212001001002"`) {
		t.Errorf("OGC buildings in the box: %d, %s, %v", page.Matched, page.Features, err)
	}
	if page, err := db.Features(ctx, geo.FeatureQuery{Buildings: true, Generation: gen, Limit: 10,
		BBox: &orb.Bound{Min: orb.Point{121.50, 29.80}, Max: orb.Point{121.501, 29.801}}}); err != nil || page.Matched != 0 {
		t.Errorf("OGC buildings in an empty box: %d, %v", page.Matched, err)
	}
}
