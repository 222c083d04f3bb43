package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/internal/pgtest"
)

// importGrid is one feature of the reference layer every format test
// converts and imports back: names that need GBK, GB18030 and UTF-8 right.
type importGrid struct {
	code, name string
	lon, lat   float64 // south-west corner; squares of 0.004° × 0.004°
}

var referenceGrids = []importGrid{
	{"330212001001001", "中河街道东社区第1网格", 121.540, 29.810},
	{"330212001001002", "钟公庙街道㙟村网格", 121.544, 29.810}, // 㙟 is outside GBK
	{"330212001001003", "潘火街道（测试）网格", 121.548, 29.814},
}

// writeReferenceGeoJSON writes the reference layer, with coordinates
// passed through conv (nil: as they are).
func writeReferenceGeoJSON(t *testing.T, path string, conv func(lon, lat float64) (float64, float64), skip func(importGrid) bool) {
	t.Helper()
	if conv == nil {
		conv = func(lon, lat float64) (float64, float64) { return lon, lat }
	}
	var feats []string
	for _, g := range referenceGrids {
		if skip != nil && skip(g) {
			continue
		}
		var ring []string
		for _, c := range [][2]float64{{0, 0}, {0.004, 0}, {0.004, 0.004}, {0, 0.004}, {0, 0}} {
			x, y := conv(g.lon+c[0], g.lat+c[1])
			ring = append(ring, fmt.Sprintf("[%.10f,%.10f]", x, y))
		}
		feats = append(feats, fmt.Sprintf(`{"type":"Feature","properties":{"WGBM":"%s","WGMC":"%s","HS":%d},"geometry":{"type":"Polygon","coordinates":[[%s]]}}`,
			g.code, g.name, 100+len(feats), strings.Join(ring, ",")))
	}
	body := `{"type":"FeatureCollection","features":[` + strings.Join(feats, ",\n") + "]}"
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// ogr2ogr runs GDAL's converter, an independent writer of every format.
func ogr2ogr(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command("ogr2ogr", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ogr2ogr %s: %v: %s (make test installs gdal-bin)", strings.Join(args, " "), err, out)
	}
}

// TestImportFormats converts the reference layer into every format and
// coordinate system GIS staff bring, imports each, and checks that names,
// codes, areas and positions come back as they were.
func TestImportFormats(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.geojson")
	writeReferenceGeoJSON(t, ref, nil, nil)

	shp := func(name string, lco ...string) func() string {
		return func() string {
			out := filepath.Join(dir, name)
			ogr2ogr(t, append(append([]string{"-f", "ESRI Shapefile"}, lco...), out, ref)...)
			return filepath.Join(out, "ref.shp")
		}
	}
	// Each case writes a file from the reference layer; args are the
	// import flags beyond --level/--dept.
	cases := []struct {
		name string
		make func() string
		args []string
		enc  string
		skip func(importGrid) bool
	}{
		{"geojson", func() string { return ref }, nil, "UTF-8", nil},
		{"shapefile UTF-8 with .cpg", shp("utf8", "-lco", "ENCODING=UTF-8"), nil, "UTF-8", nil},
		{"shapefile GBK without .cpg", func() string {
			// GBK cannot hold 㙟: that grid is left out of this file.
			noGB := filepath.Join(dir, "nogb18030.geojson")
			writeReferenceGeoJSON(t, noGB, nil, func(g importGrid) bool { return strings.Contains(g.name, "㙟") })
			out := filepath.Join(dir, "gbk")
			ogr2ogr(t, "-f", "ESRI Shapefile", "-lco", "ENCODING=CP936", out, noGB)
			p := filepath.Join(out, "nogb18030.shp")
			os.Remove(strings.TrimSuffix(p, ".shp") + ".cpg")
			return p
			// Without .cpg the text is detected; GB18030 is GBK's superset.
		}, nil, "GB", func(g importGrid) bool { return strings.Contains(g.name, "㙟") }},
		{"shapefile GB18030", shp("gb18030", "-lco", "ENCODING=GB18030"), nil, "GB18030", nil},
		{"shapefile CGCS2000 3° Gauss-Krüger CM 120E", func() string {
			out := filepath.Join(dir, "gk")
			ogr2ogr(t, "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", "-t_srs", "EPSG:4549", out, ref)
			return filepath.Join(out, "ref.shp")
		}, nil, "", nil},
		{"shapefile CGCS2000 3° Gauss-Krüger zone 40 (prefixed)", func() string {
			out := filepath.Join(dir, "gk40")
			ogr2ogr(t, "-f", "ESRI Shapefile", "-lco", "ENCODING=UTF-8", "-t_srs", "EPSG:4528", out, ref)
			return filepath.Join(out, "ref.shp")
		}, nil, "", nil},
		{"geopackage CGCS2000", func() string {
			out := filepath.Join(dir, "ref.gpkg")
			ogr2ogr(t, "-f", "GPKG", "-t_srs", "EPSG:4490", out, ref)
			return out
		}, nil, "", nil},
		{"kmz", func() string {
			kml := filepath.Join(dir, "doc.kml")
			ogr2ogr(t, "-f", "KML", kml, ref)
			out := filepath.Join(dir, "ref.kmz")
			if b, err := exec.Command("sh", "-c", "cd "+dir+" && zip -q ref.kmz doc.kml || python3 -c \"import zipfile;z=zipfile.ZipFile('ref.kmz','w');z.write('doc.kml');z.close()\"").CombinedOutput(); err != nil {
				t.Fatalf("zip: %v %s", err, b)
			}
			return out
		}, []string{"--code-field", "WGBM", "--name-field", "WGMC"}, "", nil},
		{"csv with WKT", func() string {
			out := filepath.Join(dir, "ref.csv")
			ogr2ogr(t, "-f", "CSV", "-lco", "GEOMETRY=AS_WKT", out, ref)
			return out
		}, nil, "UTF-8", nil},
		{"geojson in GCJ-02", func() string {
			out := filepath.Join(dir, "gcj.geojson")
			writeReferenceGeoJSON(t, out, geo.WGS84ToGCJ02, nil)
			return out
		}, []string{"--srs", "gcj02"}, "", nil},
		{"geojson in BD-09", func() string {
			out := filepath.Join(dir, "bd.geojson")
			writeReferenceGeoJSON(t, out, geo.WGS84ToBD09, nil)
			return out
		}, []string{"--srs", "bd09"}, "", nil},
	}
	ctx := context.Background()
	conn := connect(t, dbURL)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.make()
			dept := fmt.Sprintf("imp%d", i)
			if _, err := conn.Exec(ctx, `INSERT INTO departments (code, name) VALUES ($1, $1)`, dept); err != nil {
				t.Fatal(err)
			}
			out := mustGridd(t, append(append([]string{"import", "--db", dbURL, "--level", "grid", "--dept", dept}, tc.args...), path)...)
			if tc.enc != "" && !strings.Contains(out, "encoding "+tc.enc) {
				t.Errorf("want encoding %s reported:\n%s", tc.enc, out)
			}
			want := 0
			for _, g := range referenceGrids {
				if tc.skip != nil && tc.skip(g) {
					continue
				}
				want++
				// Each grid lands where it was (within 0.5 m) with its name,
				// code and area (a 0.004° square: ~386 m × ~444 m).
				var name string
				var dist, area float64
				err := conn.QueryRow(ctx, `
					SELECT f.name, ST_HausdorffDistance(ST_Transform(f.geom, 32651), ST_Transform(ST_MakeEnvelope($2::float8, $3::float8, $2::float8 + 0.004, $3::float8 + 0.004, 4326), 32651)),
					       ST_Area(f.geom::geography)
					FROM source_features f JOIN source_layers l ON l.id = f.layer_id
					WHERE l.dept_code = $1 AND f.code = $4`, dept, g.lon, g.lat, g.code).Scan(&name, &dist, &area)
				if err != nil {
					t.Errorf("grid %s: %v", g.code, err)
					continue
				}
				if name != g.name {
					t.Errorf("grid %s name %q, want %q", g.code, name, g.name)
				}
				if dist > 0.5 {
					t.Errorf("grid %s lies %.3f m from where it should", g.code, dist)
				}
				if wantArea := 0.004 * 111320 * 0.004 * 96630; area < wantArea*0.99 || area > wantArea*1.01 {
					t.Errorf("grid %s area %.0f m², want about %.0f", g.code, area, wantArea)
				}
			}
			var n int
			conn.QueryRow(ctx, `SELECT count(*) FROM source_features f JOIN source_layers l ON l.id = f.layer_id WHERE l.dept_code = $1`, dept).Scan(&n)
			if n != want {
				t.Errorf("%d features stored, want %d", n, want)
			}
		})
	}
}

// TestImportRealNingbo imports the real district boundaries of Ningbo,
// with their repeated points and mismatched borders.
func TestImportRealNingbo(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "ningbo.geojson")
	b, err := os.ReadFile("../../demo/ningbo/ningbo-districts.geojson")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, b, 0o644)
	report := filepath.Join(dir, "issues.geojson")
	out := mustGridd(t, "import", "--db", dbURL, "--level", "district", "--report", report, path)
	if !strings.Contains(out, "10 features read, 10 stored") || !strings.Contains(out, "code=code") {
		t.Errorf("import said:\n%s", out)
	}
	ctx := context.Background()
	conn := connect(t, dbURL)
	var name string
	var area, total float64
	conn.QueryRow(ctx, `SELECT name, ST_Area(geom::geography) / 1e6 FROM source_features WHERE code = '330212'`).Scan(&name, &area)
	conn.QueryRow(ctx, `SELECT sum(ST_Area(geom::geography)) / 1e6 FROM source_features`).Scan(&total)
	// Published land areas: Yinzhou 814 km², Ningbo 9,816 km²; the data are
	// drawn at about 100 m, so within a few per cent.
	if name != "鄞州区" || area < 814*0.9 || area > 814*1.1 {
		t.Errorf("Yinzhou: %q, %.0f km²", name, area)
	}
	if total < 9816*0.9 || total > 9816*1.1 {
		t.Errorf("Ningbo: %.0f km²", total)
	}
	var fc struct{ Features []json.RawMessage }
	rb, _ := os.ReadFile(report)
	if err := json.Unmarshal(rb, &fc); err != nil {
		t.Errorf("report is not GeoJSON: %v", err)
	}
}

// TestImportRefusesWrongCoordinates: coordinates that cannot be right for
// the coordinate system they are read in are refused with advice, and
// nothing is written.
func TestImportRefusesWrongCoordinates(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.geojson")
	writeReferenceGeoJSON(t, ref, nil, nil)
	swapped := filepath.Join(dir, "swapped.geojson")
	writeReferenceGeoJSON(t, swapped, func(lon, lat float64) (float64, float64) { return lat, lon }, nil)
	projected := filepath.Join(dir, "projected.geojson")
	ogr2ogr(t, "-f", "GeoJSON", "-t_srs", "EPSG:4528", "-lco", "WRITE_NON_FINITE_VALUES=NO", projected+".tmp.geojson", ref)
	// Drop the crs member, as hand-made files do.
	pb, _ := os.ReadFile(projected + ".tmp.geojson")
	var doc map[string]any
	json.Unmarshal(pb, &doc)
	delete(doc, "crs")
	pb, _ = json.Marshal(doc)
	os.WriteFile(projected, pb, 0o644)
	abroad := filepath.Join(dir, "abroad.geojson")
	writeReferenceGeoJSON(t, abroad, func(lon, lat float64) (float64, float64) { return lon - 120, lat + 20 }, nil)

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"swapped", []string{swapped}, "swapped"},
		{"projected without CRS", []string{projected}, "EPSG:4528"},
		{"read in the wrong system", []string{"--srs", "EPSG:3857", ref}, "outside China"},
		{"abroad", []string{abroad}, "--allow-outside"},
		{"unknown EPSG", []string{"--srs", "EPSG:999999", ref}, "does not know"},
		{"bad srs", []string{"--srs", "mars", ref}, "EPSG:nnnn"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gridd(t, append([]string{"import", "--db", dbURL, "--level", "grid", "--dept", "zongzhi"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line with %q", err, tt.want)
			}
		})
	}
	out := mustGridd(t, "import", "--db", dbURL, "--level", "grid", "--dept", "zongzhi", "--allow-outside", abroad)
	if !strings.Contains(out, "3 stored") {
		t.Errorf("--allow-outside: %s", out)
	}
	out = mustGridd(t, "import", "--db", dbURL, "--level", "grid", "--dept", "zongzhi", "--dry-run", ref)
	if !strings.Contains(out, "dry run") {
		t.Errorf("dry run said %s", out)
	}
	ctx := context.Background()
	conn := connect(t, dbURL)
	var layers int
	conn.QueryRow(ctx, `SELECT count(*) FROM source_layers`).Scan(&layers)
	if layers != 1 {
		t.Errorf("%d layers stored, want only the --allow-outside one", layers)
	}
}

// TestUploadLayer imports over HTTP: a raw GeoJSON body and a zipped
// shapefile as multipart form, each as a job whose report can be fetched;
// an oversized upload is refused with 413 and nothing is written.
func TestUploadLayer(t *testing.T) {
	dbURL := pgtest.NewDatabaseURL(t)
	base := serve(t, dbURL, "--max-upload-mb", "1")
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.geojson")
	writeReferenceGeoJSON(t, ref, nil, nil)
	shpDir := filepath.Join(dir, "shp")
	ogr2ogr(t, "-f", "ESRI Shapefile", "-lco", "ENCODING=GB18030", shpDir, ref)
	zipPath := filepath.Join(dir, "grids.zip")
	if out, err := exec.Command("sh", "-c", "cd "+shpDir+" && python3 -c \"import zipfile,glob;z=zipfile.ZipFile('"+zipPath+"','w');[z.write(f) for f in glob.glob('ref.*')];z.close()\"").CombinedOutput(); err != nil {
		t.Fatalf("zip: %v %s", err, out)
	}

	waitJob := func(location string) geo.ImportJob {
		t.Helper()
		for i := 0; i < 200; i++ {
			var job geo.ImportJob
			getJSON(t, base+location, http.StatusOK, &job)
			if job.State == geo.JobDone || job.State == geo.JobFailed {
				return job
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatal("job did not finish")
		return geo.ImportJob{}
	}

	body, _ := os.ReadFile(ref)
	resp, err := http.Post(base+"/api/v1/layers?level=grid&dept=zongzhi&file_name=ref.geojson", "application/geo+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("upload: %d", resp.StatusCode)
	}
	job := waitJob(resp.Header.Get("Location"))
	if job.State != geo.JobDone || job.Report == nil || job.Report.Features != 3 || job.Report.Version != 1 {
		t.Fatalf("job %+v", job)
	}

	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	mw.WriteField("level", "grid")
	mw.WriteField("dept", "chengguan")
	fw, _ := mw.CreateFormFile("file", "grids.zip")
	zb, _ := os.ReadFile(zipPath)
	fw.Write(zb)
	mw.Close()
	resp, err = http.Post(base+"/api/v1/layers", mw.FormDataContentType(), &form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	job = waitJob(resp.Header.Get("Location"))
	if job.State != geo.JobDone || job.Report.Format != "shapefile" || job.Report.Encoding != "GB18030" || job.Report.Features != 3 {
		t.Fatalf("zip job %+v %+v", job, job.Report)
	}

	// A failing import is a failed job with the reason.
	resp, err = http.Post(base+"/api/v1/layers?level=grid&dept=nobody&file_name=ref.geojson", "application/geo+json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	job = waitJob(resp.Header.Get("Location"))
	if job.State != geo.JobFailed || job.Error == nil || !strings.Contains(*job.Error, "unknown department") {
		t.Fatalf("failed job %+v", job)
	}

	for _, tt := range []struct {
		url    string
		body   io.Reader
		status int
	}{
		{"/api/v1/layers?level=grid&dept=zongzhi&file_name=big.geojson", io.LimitReader(zeroReader{}, 2<<20), http.StatusRequestEntityTooLarge},
		{"/api/v1/layers?level=grid&dept=zongzhi", bytes.NewReader(body), http.StatusBadRequest},
		{"/api/v1/layers?level=block&file_name=a.geojson", bytes.NewReader(body), http.StatusBadRequest},
		{"/api/v1/jobs/999", nil, http.StatusNotFound},
	} {
		var resp *http.Response
		if tt.body == nil {
			resp, err = http.Get(base + tt.url)
		} else {
			resp, err = http.Post(base+tt.url, "application/octet-stream", tt.body)
		}
		if err != nil {
			t.Fatal(err)
		}
		var e apiError
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tt.status || e.Error.Message == "" {
			t.Errorf("%s: %d %+v, want %d with a JSON error", tt.url, resp.StatusCode, e, tt.status)
		}
	}
	ctx := context.Background()
	conn := connect(t, dbURL)
	var layers int
	conn.QueryRow(ctx, `SELECT count(*) FROM source_layers`).Scan(&layers)
	if layers != 2 {
		t.Errorf("%d layers, want the two good uploads", layers)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}
