package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// TestConsoleGis drives the GIS workspace and the dashboard in headless
// Chromium (web/console/test/gis.mjs) on one demo city served with a
// GCJ-02 raster basemap from a local tile server: a gis user uploads a
// layer, merges, reviews and activates through the console; a viewer reads
// the dashboard. The test then checks what the browser saw against the API
// and the database. Screenshots: var/screenshots/console-gis-*.png and
// console-dashboard.png.
func TestConsoleGis(t *testing.T) {
	ctx := context.Background()
	start := time.Now()
	dbURL := demoDatabaseURL(t)

	// A basemap tile server: every tile the same pale PNG, requests counted.
	var basemapHits atomic.Int64
	tile := basemapTile(t)
	bm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		basemapHits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Access-Control-Allow-Origin", "*") // MapLibre fetches raster tiles with CORS, as from 天地图 or Amap
		w.Write(tile)
	}))
	defer bm.Close()
	bmURL := bm.URL + "/{z}/{x}/{y}.png"
	base := serve(t, dbURL, "--basemap-url", bmURL, "--basemap-datum", "gcj02", "--basemap-attribution", "测试底图")

	// The style: the basemap first, grid tiles in GCJ-02 to match it.
	var style struct {
		Sources map[string]struct {
			Type        string
			Tiles       []string
			Attribution string
		}
		Layers   []struct{ ID, Type, Source string }
		Metadata map[string]string
	}
	getJSON(t, base+"/tiles/style.json", http.StatusOK, &style)
	if src := style.Sources["basemap"]; src.Type != "raster" || len(src.Tiles) != 1 || src.Tiles[0] != bmURL || src.Attribution != "测试底图" {
		t.Fatalf("basemap source %+v", src)
	}
	if len(style.Layers) < 2 || style.Layers[1].ID != "basemap" || style.Layers[1].Type != "raster" {
		t.Fatalf("basemap layer not right above the background: %+v", style.Layers[:2])
	}
	if g := style.Sources["grids"].Tiles; len(g) != 1 || !strings.Contains(g[0], "datum=gcj02") || style.Metadata["gridd:datum"] != "gcj02" {
		t.Fatalf("grid tiles %v, metadata %v: want GCJ-02 under a GCJ-02 basemap", g, style.Metadata)
	}

	// Accounts: a gis user for the workspace, a viewer for the dashboard.
	password := func(login, role string) string {
		pw := shownOnce.FindStringSubmatch(mustGridd(t, "user", "add", "--db", dbURL, "--login", login, "--role", role))
		if pw == nil {
			t.Fatalf("gridd user add %s printed no password", login)
		}
		return pw[1]
	}
	gisPass, viewerPass := password("gisuser", "gis"), password("viewer", "viewer")

	// Cases for the dashboard: three in one street (one closed), one in
	// another street.
	conn := connect(t, dbURL)
	type spot struct {
		grid, street string
		lon, lat     float64
	}
	rows, err := conn.Query(ctx, `
		SELECT DISTINCT ON (left(code, 9)) code, left(code, 9), ST_X(p), ST_Y(p)
		FROM (SELECT code, ST_PointOnSurface(geom) p FROM areas WHERE generation = 1 AND level = 'grid') g
		ORDER BY left(code, 9), code LIMIT 2`)
	if err != nil {
		t.Fatal(err)
	}
	spots, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (spot, error) {
		var s spot
		return s, r.Scan(&s.grid, &s.street, &s.lon, &s.lat)
	})
	if err != nil || len(spots) != 2 {
		t.Fatalf("spots: %v %v", spots, err)
	}
	op := as("值班员", geo.RoleOperator)
	call(t, "POST", base+"/api/v1/people", op, geo.Person{Name: "城管甲", Dept: "chengguan", Active: true,
		Responsibilities: []geo.Responsibility{{Code: spots[0].grid, Role: geo.RoleChengguan}}}, http.StatusCreated, nil)
	var ids []int64
	for _, s := range []spot{spots[0], spots[0], spots[0], spots[1]} {
		var inc geo.Incident
		call(t, "POST", base+"/api/v1/incidents", nil, map[string]any{"category": "E0102", "lon": s.lon, "lat": s.lat, "description": "暴露垃圾"}, http.StatusCreated, &inc)
		ids = append(ids, inc.ID)
	}
	cg := as("城管甲", geo.RoleChengguan)
	for v, step := range []struct {
		who    map[string]string
		action geo.Action
	}{{op, geo.ActRegister}, {op, geo.ActDispatch}, {cg, geo.ActAccept}, {cg, geo.ActHandle}, {op, geo.ActVerify}, {op, geo.ActClose}} {
		hdr := map[string]string{"If-Match": strconv.Quote(strconv.Itoa(v + 1))}
		for k, x := range step.who {
			hdr[k] = x
		}
		call(t, "POST", fmt.Sprintf("%s/api/v1/incidents/%d/transitions", base, ids[0]), hdr, map[string]any{"action": step.action}, http.StatusOK, nil)
	}

	fixture, err := filepath.Abs("testdata/three-grids.geojson")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("demo, server, accounts and cases ready in %.1fs", time.Since(start).Seconds())
	out := runConsoleScript(t, "gis.mjs", base, screenshotPath(t, "console-gis.png"),
		"GRIDD_GIS_LOGIN=gisuser", "GRIDD_GIS_PASSWORD="+gisPass, "GRIDD_VIEWER_LOGIN=viewer", "GRIDD_VIEWER_PASSWORD="+viewerPass,
		"GRIDD_FIXTURE="+fixture, "GRIDD_DEPT=gongan")
	var res struct {
		Job struct {
			Features, Repaired, Issues int
			Encoding                   string
		}
		Generation, ReportGrids, PiecesTotal, RenderedPieces int
		Pieces                                               map[string]int
		Datum                                                string
		BasemapLayer                                         bool
		ReportState                                          string
		CompareGrid                                          []int
		SizeRows                                             []sizeRow
		Disputes                                             struct{ Total, Open, Confirmed, OpenAfter int }
		Rebalance                                            struct {
			Generation int
			Done       string
			Rows       []sizeRow
		}
		Dashboard struct {
			Received, Closed int
			OnTimeRate       float64
			Bars             []struct {
				Area  string
				Value int
			}
			ClosedBars []struct {
				Area  string
				Value int
			}
			MapStates    []int
			EnglishLabel string
		}
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("browser test output %q: %v", out, err)
	}
	t.Logf("browser saw: %s", out)

	// The upload: the department's new layer as the report says.
	var feats, version int
	if err := conn.QueryRow(ctx, `SELECT feature_count, version FROM source_layers WHERE dept_code = 'gongan' AND level = 'grid'`).Scan(&feats, &version); err != nil {
		t.Fatalf("the uploaded layer: %v", err)
	}
	if res.Job.Features != feats || feats != 3 || res.Job.Repaired != 1 || res.Job.Issues < 1 || res.Job.Encoding != "UTF-8" {
		t.Errorf("import report in the console %+v; stored %d features (version %d)", res.Job, feats, version)
	}

	// The merge: a second generation, now active, its pieces as the API
	// has them; the rebalance after it, a third, a draft.
	var gens struct{ Generations []geo.Generation }
	getJSON(t, base+"/api/v1/generations", http.StatusOK, &gens)
	if res.Generation != 2 || len(gens.Generations) != 3 || gens.Generations[1].ID != 2 || gens.Generations[1].State != geo.GenerationActive ||
		gens.Generations[2].State != geo.GenerationRetired || res.ReportState != geo.GenerationActive ||
		gens.Generations[0].ID != 3 || gens.Generations[0].State != geo.GenerationDraft || res.Rebalance.Generation != 3 {
		t.Errorf("generations after activating in the console: %+v (console: generation %d, %s)", gens.Generations, res.Generation, res.ReportState)
	}
	// The disputes of generation 2 as the console listed them, and the
	// one the gis user confirmed there.
	var total, open int
	var action, by, gotID string
	conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE decision_id IS NULL) FROM merge_disputes WHERE generation = 2`).Scan(&total, &open)
	conn.QueryRow(ctx, `SELECT b.action, b.decided_by, d.id::text FROM merge_disputes d JOIN border_decisions b ON b.id = d.decision_id
		WHERE d.generation = 2`).Scan(&action, &by, &gotID)
	if res.Disputes.Total != total || total == 0 || res.Disputes.Open != open+1 || res.Disputes.OpenAfter != open ||
		gotID != strconv.Itoa(res.Disputes.Confirmed) || action != "confirm" || by != "gisuser" {
		t.Errorf("disputes in the console %+v; stored %d, %d open, decision %s by %s on %s", res.Disputes, total, open, action, by, gotID)
	}
	var pieces struct {
		Features []struct{ Properties struct{ Kind string } }
	}
	getJSON2(t, base+"/api/v1/generations/2/pieces", &pieces)
	byKind := map[string]int{}
	for _, f := range pieces.Features {
		byKind[f.Properties.Kind]++
	}
	for k, n := range byKind {
		if res.Pieces[k] != n {
			t.Errorf("legend says %d %s pieces, the API %d", res.Pieces[k], k, n)
		}
	}
	if res.PiecesTotal != len(pieces.Features) || res.PiecesTotal == 0 || res.RenderedPieces == 0 {
		t.Errorf("pieces: legend %d, API %d, rendered %d", res.PiecesTotal, len(pieces.Features), res.RenderedPieces)
	}
	var grids int
	conn.QueryRow(ctx, `SELECT count(*) FROM areas WHERE generation = 2 AND level = 'grid'`).Scan(&grids)
	if res.ReportGrids != grids {
		t.Errorf("report shows %d grids, generation 2 has %d", res.ReportGrids, grids)
	}
	// The comparison: kept + reshaped + added are generation 2's grids.
	var cmp geo.GenerationDiff
	getJSON(t, base+"/api/v1/generations/2/compare?with=1", http.StatusOK, &cmp)
	g := cmp.Levels["grid"]
	if g == nil || g.Kept+g.Reshaped+g.Added != grids || len(res.CompareGrid) != 6 || res.CompareGrid[0] != g.Kept || res.CompareGrid[2] != g.Added {
		t.Errorf("compare: API %+v, console %v, %d grids", g, res.CompareGrid, grids)
	}
	var e apiError
	getJSON(t, base+"/api/v1/generations/2/compare?with=x", http.StatusBadRequest, &e)
	getJSON(t, base+"/api/v1/generations/2/compare?with=99", http.StatusNotFound, &e)

	// The sizes: the histogram the console drew is the report's, and the
	// rebalance draft's has the bars before and after.
	var rep2, rep3 geo.MergeReport
	getJSON(t, base+"/api/v1/generations/2/report", http.StatusOK, &rep2)
	checkHistogram(t, "generation 2", res.SizeRows, nil, rep2.Sizes.After)
	getJSON(t, fmt.Sprintf("%s/api/v1/generations/%d/report", base, res.Rebalance.Generation), http.StatusOK, &rep3)
	if rep3.Sizes == nil || !rep3.Params.Rebalance || rep3.Sizes.Split == 0 || !strings.Contains(res.Rebalance.Done, fmt.Sprint(rep3.Sizes.Split)) {
		t.Errorf("the console's rebalance: %q; the report's sizes %+v", res.Rebalance.Done, rep3.Sizes)
	} else {
		checkHistogram(t, "the rebalance", res.Rebalance.Rows, rep3.Sizes.Before, rep3.Sizes.After)
	}

	// The map: GCJ-02 tiles over the basemap, whose tiles the browser fetched.
	if res.Datum != "gcj02" || !res.BasemapLayer || basemapHits.Load() == 0 {
		t.Errorf("map datum %q, basemap layer %v, %d basemap tiles fetched", res.Datum, res.BasemapLayer, basemapHits.Load())
	}

	// The dashboard: the cases made above.
	d := res.Dashboard
	want := map[string]int{spots[0].street: 3, spots[1].street: 1}
	if d.Received != 4 || d.Closed != 1 || d.OnTimeRate != 1 || len(d.Bars) != 2 || len(d.MapStates) != 2 {
		t.Errorf("dashboard %+v", d)
	}
	for _, b := range d.Bars {
		if want[b.Area] != b.Value {
			t.Errorf("bar of %s is %d, want %d", b.Area, b.Value, want[b.Area])
		}
	}
	closed := map[string]int{spots[0].street: 1, spots[1].street: 0}
	for _, b := range d.ClosedBars {
		if closed[b.Area] != b.Value {
			t.Errorf("closed bar of %s is %d, want %d", b.Area, b.Value, closed[b.Area])
		}
	}
	if len(d.ClosedBars) != 2 {
		t.Errorf("closed bars %+v", d.ClosedBars)
	}
	if d.EnglishLabel != "Received" {
		t.Errorf("English label %q", d.EnglishLabel)
	}
}

// getJSON2 is getJSON for GeoJSON answers (application/geo+json).
func getJSON2(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// basemapTile is a 256-pixel PNG: pale paper with a darker frame, so a
// screenshot shows the basemap's tile grid.
func basemapTile(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			c := color.RGBA{0xf3, 0xee, 0xe0, 0xff}
			if x < 2 || y < 2 {
				c = color.RGBA{0xc8, 0xc0, 0xa8, 0xff}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestConsoleGCJ02 checks that the console's GCJ-02 shift (which moves
// GeoJSON onto GCJ-02 tiles) is the server's: the same points in China,
// on its rectangle's edges and outside it.
func TestConsoleGCJ02(t *testing.T) {
	pts := [][2]float64{{121.55, 29.80}, {116.397, 39.909}, {113.26, 23.13}, {87.6, 43.8}, {105, 35}, {72.004, 0.8293}, {137.8347, 55.8271},
		{139.7, 35.7}, {-0.1, 51.5}, {121.4, 31.2}, {104.99999, 30.6}}
	in, _ := json.Marshal(pts)
	cmd := exec.Command("node", "test/gcj02.mjs", string(in))
	cmd.Dir = "../../web/console"
	out, err := cmd.Output() // stdout: node warns on stderr about the module type
	if err != nil {
		t.Fatalf("node test/gcj02.mjs: %v", err)
	}
	var got [][2]float64
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(pts) {
		t.Fatalf("output %q: %v", out, err)
	}
	for i, p := range pts {
		lon, lat := geo.WGS84ToGCJ02(p[0], p[1])
		if math.Abs(got[i][0]-lon) > 1e-12 || math.Abs(got[i][1]-lat) > 1e-12 {
			t.Errorf("%v: console %v, server %v", p, got[i], [2]float64{lon, lat})
		}
	}
}

// sizeRow is a bar of the console's households-per-grid histogram.
type sizeRow struct {
	From          int
	Before, After *int
}

// checkHistogram compares the bars the console drew with a report's.
func checkHistogram(t *testing.T, what string, rows []sizeRow, before, after []geo.SizeBin) {
	t.Helper()
	n := max(len(before), len(after))
	if len(rows) != n || n == 0 {
		t.Errorf("%s: the console drew %d bars, the report has %d", what, len(rows), n)
		return
	}
	at := func(bins []geo.SizeBin, i int) int {
		if i < len(bins) {
			return bins[i].Grids
		}
		return 0
	}
	for i, r := range rows {
		if r.From != i*100 || r.After == nil || *r.After != at(after, i) || (before != nil && (r.Before == nil || *r.Before != at(before, i))) {
			t.Errorf("%s: bar %d is %+v, the report has %d → %d", what, i, r, at(before, i), at(after, i))
		}
	}
}
