package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/project"
)

// The second city of the tests: 北仑区, Ningbo, built by the demo generator
// from its real boundary, codes and names, then brought to gridd as GIS
// staff bring layers: files in other coordinate systems, encodings and
// formats, each with its makers' attribution.
const secondCity = "330206"

// secondCityLayer is one layer of the second city as a file.
type secondCityLayer struct {
	dept, level string
	form        string // geojson, shapefile (GBK, Gauss-Krüger), gcj02 (GeoJSON), kmz
	attribution string
	args        []string // import options beyond level, dept and attribution
}

var secondCityLayers = []secondCityLayer{
	{"", "district", "geojson", "区划: 北仑区民政局 (测试)", nil},
	{"", "street", "geojson", "区划: 北仑区民政局 (测试)", nil},
	{"", "community", "geojson", "区划: 北仑区民政局 (测试)", nil},
	// CGCS2000 / 3-degree Gauss-Krüger CM 123E: 北仑 lies east of 121.5°E.
	{"zongzhi", "grid", "shapefile", "网格: 北仑区综治中心 (测试)", nil},
	{"chengguan", "grid", "gcj02", "网格: 北仑区综合行政执法局 (测试)", []string{"--srs", "gcj02"}},
	{"dangjian", "grid", "kmz", "网格: 北仑区委组织部 (测试)", nil},
}

// kmzWriter is the GDAL driver the KMZ fixture is written with. "KML"
// writes one KML file, which the fixture zips as doc.kml; "LIBKML" writes
// the .kmz itself, as GIS tools do (a doc.kml linking layers/NAME.kml).
const kmzWriter = "LIBKML"

// secondCityAttributions are the distinct attributions of its layers, sorted.
func secondCityAttributions() []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range secondCityLayers {
		if !seen[l.attribution] {
			seen[l.attribution] = true
			out = append(out, l.attribution)
		}
	}
	sort.Strings(out)
	return out
}

// secondCityDatabaseURL returns a copy of a database holding the second
// city: its layers imported from files, merged, checked and generation 1
// activated. It is built once per test server, so its tests share it.
func secondCityDatabaseURL(t *testing.T) string {
	t.Helper()
	return pgtest.NewFilledDatabaseURL(t, "beilun", func(url string) error { return buildSecondCity(t, url) })
}

// runGridd runs the CLI in-process and returns what it printed, its error
// naming the command.
func runGridd(args ...string) (string, error) {
	var out bytes.Buffer
	if err := run(context.Background(), args, &out, io.Discard); err != nil {
		return out.String(), fmt.Errorf("gridd %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), nil
}

// buildSecondCity generates 北仑's departmental layers in a scratch
// database, writes each as a file in its form, imports the files into the
// database at url and merges, checks and activates.
func buildSecondCity(t *testing.T, url string) error {
	ctx := context.Background()
	src := pgtest.NewDatabaseURL(t)
	if _, err := runGridd("demo", "--db", src, "--district", secondCity, "--no-merge", "--grid-scale", "0.5"); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, src)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	dir := t.TempDir()
	for _, l := range secondCityLayers {
		file, err := writeSecondCityLayer(ctx, conn, dir, l)
		if err != nil {
			return fmt.Errorf("%s %s as %s: %w", l.dept, l.level, l.form, err)
		}
		args := append([]string{"import", "--db", url, "--level", l.level, "--attribution", l.attribution}, l.args...)
		if l.dept != "" {
			args = append(args, "--dept", l.dept)
		}
		if _, err := runGridd(append(args, file)...); err != nil {
			return err
		}
	}
	// Every feature came through with its code, name, parent and households.
	dst, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer dst.Close(ctx)
	for _, l := range secondCityLayers {
		var want, got string
		if err := conn.QueryRow(ctx, layerDigestSQL, l.dept, l.level).Scan(&want); err != nil {
			return err
		}
		if err := dst.QueryRow(ctx, layerDigestSQL, l.dept, l.level).Scan(&got); err != nil {
			return err
		}
		if got != want {
			return fmt.Errorf("%s %s as %s: imported %s, generated %s", l.dept, l.level, l.form, got, want)
		}
	}
	if _, err := runGridd("merge", "--db", url, "--base", "zongzhi", "--note", "北仑区"); err != nil {
		return err
	}
	if out, err := runGridd("check", "--db", url, "--gen", "1"); err != nil || !strings.Contains(out, "ok:") {
		return fmt.Errorf("check of generation 1 said %q (%v)", out, err)
	}
	_, err = runGridd("activate", "--db", url, "1")
	return err
}

// secondCityLayerSQL reads one layer of the demo generator as GeoJSON
// features with the attribute names GIS exports use (WGBM 网格编码, WGMC
// 网格名称, SJBM 上级编码, HS 户数): $1 department (empty for admin), $2 level.
const secondCityLayerSQL = `
SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object(
    'type', 'Feature',
    'properties', json_build_object('WGBM', f.code, 'WGMC', f.name, 'SJBM', f.parent_code, 'HS', f.households),
    'geometry', ST_AsGeoJSON(f.geom, 9)::json) ORDER BY f.fid))::text
FROM source_layers l JOIN source_features f ON f.layer_id = l.id
WHERE coalesce(l.dept_code, '') = $1 AND l.level = $2`

// layerDigestSQL sums up the attributes of a layer's features ($1
// department, empty for admin; $2 level): their count and a hash.
const layerDigestSQL = `
SELECT count(*) || ' features, attributes ' || md5(coalesce(string_agg(f.code || ':' || f.name || ':' || f.parent_code || ':' || coalesce(f.households::text, ''), ',' ORDER BY f.code), ''))
FROM source_layers l JOIN source_features f ON f.layer_id = l.id
WHERE coalesce(l.dept_code, '') = $1 AND l.level = $2`

// writeSecondCityLayer writes a layer of the scratch database as a file in
// the layer's form and returns the file's path.
func writeSecondCityLayer(ctx context.Context, conn *pgx.Conn, dir string, l secondCityLayer) (string, error) {
	var body string
	if err := conn.QueryRow(ctx, secondCityLayerSQL, l.dept, l.level).Scan(&body); err != nil {
		return "", err
	}
	stem := filepath.Join(dir, l.level+l.dept)
	src := stem + ".geojson"
	if l.form == "gcj02" {
		// Shifted in Go, as web maps of China (高德, 腾讯) draw them.
		fc, err := geojson.UnmarshalFeatureCollection([]byte(body))
		if err != nil {
			return "", err
		}
		for _, f := range fc.Features {
			f.Geometry = project.Geometry(f.Geometry, func(p orb.Point) orb.Point {
				x, y := geo.WGS84ToGCJ02(p[0], p[1])
				return orb.Point{x, y}
			})
		}
		b, err := fc.MarshalJSON()
		if err != nil {
			return "", err
		}
		body = string(b)
	}
	if err := os.WriteFile(src, []byte(body), 0o644); err != nil {
		return "", err
	}
	gdal := func(args ...string) error {
		if out, err := exec.Command("ogr2ogr", args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ogr2ogr %s: %v: %s (make test installs gdal-bin)", strings.Join(args, " "), err, out)
		}
		return nil
	}
	switch l.form {
	case "geojson", "gcj02":
		return src, nil
	case "shapefile":
		// Zipped with its .dbf (GBK, said by the .cpg), .shx and .prj.
		if err := gdal("-f", "ESRI Shapefile", "-s_srs", "EPSG:4326", "-t_srs", "EPSG:4550", "-lco", "ENCODING=GBK", stem+".shp", src); err != nil {
			return "", err
		}
		parts, _ := filepath.Glob(stem + ".*")
		var zipArgs []string
		for _, p := range parts {
			if !strings.HasSuffix(p, ".geojson") {
				zipArgs = append(zipArgs, p)
			}
		}
		return stem + ".zip", zipFiles(stem+".zip", zipArgs...)
	case "kmz":
		if kmzWriter == "LIBKML" {
			return stem + ".kmz", gdal("-f", "LIBKML", stem+".kmz", src)
		}
		docDir := filepath.Join(dir, "kmz-"+l.dept)
		if err := os.MkdirAll(docDir, 0o755); err != nil {
			return "", err
		}
		if err := gdal("-f", "KML", filepath.Join(docDir, "doc.kml"), src); err != nil {
			return "", err
		}
		return stem + ".kmz", zipFiles(stem+".kmz", filepath.Join(docDir, "doc.kml"))
	}
	return "", fmt.Errorf("unknown form %q", l.form)
}

// activeDistrictGeoJSON is the active generation's district level as a
// GeoJSON file's content, for a new version of the district layer.
func activeDistrictGeoJSON(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var fc string
	if err := conn.QueryRow(context.Background(), `SELECT json_build_object('type', 'FeatureCollection', 'features', json_agg(json_build_object('type', 'Feature',
		'properties', json_build_object('code', a.code, 'name', a.name), 'geometry', ST_AsGeoJSON(a.geom, 9)::json)))::text
		FROM areas a JOIN generations g ON g.id = a.generation WHERE g.state = 'active' AND a.level = 'district'`).Scan(&fc); err != nil {
		t.Fatal(err)
	}
	return fc
}

// zipFiles zips files (without their folders) into archive with Info-ZIP.
func zipFiles(archive string, files ...string) error {
	if out, err := exec.Command("zip", append([]string{"-j", "-q", archive}, files...)...).CombinedOutput(); err != nil {
		return fmt.Errorf("zip %s: %v: %s", archive, err, out)
	}
	return nil
}

// TestSecondCity runs the whole path on 北仑区: the layers as files in a
// Gauss-Krüger zone (GBK shapefile), GCJ-02 (GeoJSON) and KMZ, imported
// with their attributions, merged, checked, activated and served; locate
// answers with 北仑's codes, tiles at its extent hold its grids, and the
// maps credit its sources, not the demo's.
func TestSecondCity(t *testing.T) {
	ctx := context.Background()
	dbURL := secondCityDatabaseURL(t)
	conn := connect(t, dbURL)

	// The layers as imported: each form read in its coordinate system and
	// encoding, with its attribution.
	rows, err := conn.Query(ctx, `SELECT coalesce(dept_code, ''), level, source_srs, encoding, attribution, feature_count
		FROM source_layers ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	type stored struct {
		dept, level, srs, encoding, attribution string
		features                                int
	}
	layers, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (stored, error) {
		var s stored
		return s, r.Scan(&s.dept, &s.level, &s.srs, &s.encoding, &s.attribution, &s.features)
	})
	if err != nil || len(layers) != len(secondCityLayers) {
		t.Fatalf("layers %+v (%v), want %d", layers, err, len(secondCityLayers))
	}
	for i, l := range secondCityLayers {
		s := layers[i]
		t.Logf("%s %s (%s): %d features, %s, %s", l.level, l.dept, l.form, s.features, s.srs, s.encoding)
		if s.dept != l.dept || s.level != l.level || s.attribution != l.attribution || s.features == 0 {
			t.Errorf("layer %d: %+v, want %s %s credited %q", i, s, l.dept, l.level, l.attribution)
		}
		switch l.form {
		case "shapefile":
			if !strings.Contains(s.srs, "4550") || !strings.EqualFold(s.encoding, "GBK") {
				t.Errorf("shapefile read as %s, %s: want EPSG:4550, GBK", s.srs, s.encoding)
			}
		case "gcj02":
			if s.srs != "gcj02" {
				t.Errorf("GCJ-02 GeoJSON read as %s", s.srs)
			}
		}
	}
	// The departments' grids came back where they were: every grid of the
	// GCJ-02 and Gauss-Krüger files lies in the merged district.
	var outside int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM source_features f JOIN source_layers l ON l.id = f.layer_id
		WHERE l.level = 'grid' AND NOT ST_Covers((SELECT ST_Buffer(geom::geography, 50)::geometry FROM areas WHERE generation = 1 AND level = 'district'), ST_PointOnSurface(f.geom))`).Scan(&outside); err != nil {
		t.Fatal(err)
	}
	if outside != 0 {
		t.Errorf("%d imported grids lie outside 北仑区", outside)
	}

	// The generation: 北仑's codes and names, its sources' attribution.
	var district, name string
	var attribution []string
	if err := conn.QueryRow(ctx, `SELECT a.code, a.name, g.attribution FROM areas a JOIN generations g ON g.id = a.generation
		WHERE a.generation = 1 AND a.level = 'district'`).Scan(&district, &name, &attribution); err != nil {
		t.Fatal(err)
	}
	if district != secondCity || name != "北仑区" || strings.Join(attribution, "|") != strings.Join(secondCityAttributions(), "|") {
		t.Errorf("generation 1: district %s %s, attribution %q, want %s 北仑区 credited %q", district, name, attribution, secondCity, secondCityAttributions())
	}

	base := serve(t, dbURL)
	var gens struct{ Generations []geo.Generation }
	getJSON(t, base+"/api/v1/generations", http.StatusOK, &gens)
	if len(gens.Generations) != 1 || strings.Join(gens.Generations[0].Attribution, "|") != strings.Join(secondCityAttributions(), "|") {
		t.Errorf("generations %+v, want generation 1 credited %q", gens.Generations, secondCityAttributions())
	}
	// Locate: the point on surface of grids across the city.
	rows, err = conn.Query(ctx, `SELECT code, ST_X(p), ST_Y(p) FROM (
		SELECT code, ST_PointOnSurface(geom) AS p, row_number() OVER (ORDER BY code) AS i FROM areas WHERE generation = 1 AND level = 'grid') s
		WHERE i % 20 = 1`)
	if err != nil {
		t.Fatal(err)
	}
	type probe struct {
		code     string
		lon, lat float64
	}
	probes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (probe, error) {
		var p probe
		return p, r.Scan(&p.code, &p.lon, &p.lat)
	})
	if err != nil || len(probes) < 5 {
		t.Fatalf("probes: %v (%d)", err, len(probes))
	}
	for _, p := range probes {
		var chain struct {
			District, Street, Community, Grid *struct{ Code, Name string }
		}
		getJSON(t, fmt.Sprintf("%s/api/v1/locate?lon=%.9f&lat=%.9f", base, p.lon, p.lat), http.StatusOK, &chain)
		if chain.Grid == nil || chain.District == nil || chain.Street == nil || chain.Community == nil {
			t.Errorf("locate %v: incomplete chain %+v", p, chain)
			continue
		}
		if chain.Grid.Code != p.code || chain.District.Code != secondCity || chain.District.Name != "北仑区" ||
			!strings.HasPrefix(chain.Street.Code, secondCity) || !strings.HasPrefix(chain.Community.Code, chain.Street.Code) ||
			!strings.HasPrefix(chain.Grid.Code, chain.Community.Code) || chain.Street.Name == "" || chain.Community.Name == "" {
			t.Errorf("locate %v: chain %s %s / %s %s / %s %s / %s", p, chain.District.Code, chain.District.Name,
				chain.Street.Code, chain.Street.Name, chain.Community.Code, chain.Community.Name, chain.Grid.Code)
		}
	}

	// The style opens on the city: its center inside the generation's
	// bounds, which are 北仑's; every level source credits its sources.
	var bound [4]float64
	if err := conn.QueryRow(ctx, `SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM areas WHERE generation = 1) x`).
		Scan(&bound[0], &bound[1], &bound[2], &bound[3]); err != nil {
		t.Fatal(err)
	}
	var style struct {
		Center  []float64
		Sources map[string]struct {
			Bounds      []float64
			Attribution string
		}
	}
	getJSON(t, base+"/tiles/style.json", http.StatusOK, &style)
	if len(style.Center) != 2 || style.Center[0] < bound[0] || style.Center[0] > bound[2] || style.Center[1] < bound[1] || style.Center[1] > bound[3] {
		t.Errorf("style center %v outside the generation's bounds %v", style.Center, bound)
	}
	credits := func(what, a string) {
		t.Helper()
		for _, want := range secondCityAttributions() {
			if !strings.Contains(a, want) {
				t.Errorf("%s attribution %q lacks %q", what, a, want)
			}
		}
		if strings.Contains(a, "echarts") {
			t.Errorf("%s attribution %q credits the demo's sources", what, a)
		}
	}
	for _, l := range geo.Levels {
		src := style.Sources[l.Plural()]
		if len(src.Bounds) != 4 || math.Abs(src.Bounds[0]-bound[0]) > 1e-6 || math.Abs(src.Bounds[3]-bound[3]) > 1e-6 {
			t.Errorf("style source %s bounds %v, want %v", l.Plural(), src.Bounds, bound)
		}
		credits("style source "+l.Plural(), src.Attribution)
	}
	var tj struct{ Attribution string }
	getJSON(t, base+"/tiles/grids.json", http.StatusOK, &tj)
	credits("TileJSON grids", tj.Attribution)
	var dept struct{ Attribution string }
	getJSON(t, base+"/tiles/dept/dangjian.json", http.StatusOK, &dept)
	if !strings.HasPrefix(dept.Attribution, "网格: 北仑区委组织部 (测试)") {
		t.Errorf("TileJSON of 党建's layer credits %q", dept.Attribution)
	}

	// Tiles at the city's extent hold its grids.
	for _, p := range probes[:3] {
		tile := maptile.At(orb.Point{p.lon, p.lat}, 13)
		resp, body := fetch(t, fmt.Sprintf("%s/tiles/grids/%d/%d/%d.mvt", base, tile.Z, tile.X, tile.Y))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("tile %v: status %d", tile, resp.StatusCode)
		}
		layers, err := mvt.Unmarshal(body)
		if err != nil || len(layers) != 1 || len(layers[0].Features) == 0 {
			t.Fatalf("tile %v over grid %s: %v layers, %v", tile, p.code, len(layers), err)
		}
		found := false
		for _, f := range layers[0].Features {
			code, _ := f.Properties["code"].(string)
			if !strings.HasPrefix(code, secondCity) {
				t.Errorf("tile %v holds grid %q, not of %s", tile, code, secondCity)
			}
			found = found || code == p.code
		}
		if !found {
			t.Errorf("tile %v lacks the grid %s it covers", tile, p.code)
		}
	}

	// An upload credits its layer too (the console's form field), and
	// the next generation carries it; markup is refused with a 400 and
	// nothing stored.
	district1 := activeDistrictGeoJSON(t, conn)
	upload := func(attribution string) *http.Response {
		t.Helper()
		var form bytes.Buffer
		mw := multipart.NewWriter(&form)
		mw.WriteField("level", "district")
		mw.WriteField("attribution", attribution)
		fw, _ := mw.CreateFormFile("file", "beilun-district.geojson")
		fw.Write([]byte(district1))
		mw.Close()
		resp, err := http.Post(base+"/api/v1/layers", mw.FormDataContentType(), &form)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	before := countLayers(t, conn)
	resp := upload(`区界 <img src=x onerror="alert(1)">`)
	var e apiError
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error.Message, "plain text") || countLayers(t, conn) != before {
		t.Errorf("upload with markup in its attribution: %d %+v, %d layers (was %d)", resp.StatusCode, e, countLayers(t, conn), before)
	}
	const uploaded = "区界: 北仑区自然资源局 (测试上传)"
	resp = upload(uploaded)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	for i := 0; ; i++ {
		var job geo.ImportJob
		getJSON(t, base+resp.Header.Get("Location"), http.StatusOK, &job)
		if job.State == geo.JobFailed || i == 200 {
			t.Fatalf("upload job %+v", job)
		}
		if job.State == geo.JobDone {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	var merged struct{ Generation int }
	call(t, "POST", base+"/api/v1/merges", nil, map[string]any{"note": "区界更新"}, http.StatusCreated, &merged)
	call(t, "POST", fmt.Sprintf("%s/api/v1/generations/%d/activate", base, merged.Generation), nil, nil, http.StatusOK, nil)
	getJSON(t, base+"/tiles/style.json", http.StatusOK, &style)
	if a := style.Sources["grids"].Attribution; !strings.Contains(a, uploaded) || !strings.Contains(a, "网格: 北仑区综治中心 (测试)") {
		t.Errorf("after the upload's generation %d, the style credits %q", merged.Generation, a)
	}
}

// TestDemoUnknownDistrict: a code that is no Ningbo district is refused
// with the list of those there are, and nothing is loaded.
func TestDemoUnknownDistrict(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	_, err := gridd(t, "demo", "--db", dbURL, "--district", "110101")
	if err == nil || !strings.Contains(err.Error(), `no Ningbo district "110101"`) || !strings.Contains(err.Error(), "330206 北仑区") {
		t.Fatalf("gridd demo --district 110101: %v, want a refusal listing the districts", err)
	}
	if n := countLayers(t, connect(t, dbURL)); n != 0 {
		t.Errorf("%d layers loaded after the refusal", n)
	}
}
