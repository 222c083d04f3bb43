package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// TestExportGeoPackageShapefile exports the demo's grids as a GeoPackage,
// a shapefile and a zipped shapefile, through the CLI and the API, and
// imports each file back as a department's layer: the same grids, with the
// same attributes and shapes, must come back.
func TestExportGeoPackageShapefile(t *testing.T) {
	dbURL := demoDatabaseURL(t)
	ctx := context.Background()
	conn := connect(t, dbURL)
	var gen int
	if err := conn.QueryRow(ctx, `SELECT id FROM generations WHERE state = 'active'`).Scan(&gen); err != nil {
		t.Fatal(err)
	}
	rows, err := conn.Query(ctx, `SELECT code FROM areas WHERE generation = $1 AND level = 'grid' ORDER BY code`, gen)
	if err != nil {
		t.Fatal(err)
	}
	want, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(want) < 1000 {
		t.Fatalf("the demo's grids: %d, %v", len(want), err)
	}

	dir := t.TempDir()
	var files []string
	for _, name := range []string{"grids.gpkg", "grids.shp", "网格.zip"} {
		path := filepath.Join(dir, "cli", name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		out := mustGridd(t, "export", "--db", dbURL, "--level", "grid", path)
		if !strings.Contains(out, fmt.Sprintf("wrote %s", path)) || !strings.Contains(out, fmt.Sprintf("%d grids", len(want))) {
			t.Errorf("export %s said %q", name, out)
		}
		files = append(files, path)
	}
	// GDAL, the reader of QGIS and many other desktops, agrees; its
	// GeoPackage validator checks the real data's geometry headers and
	// extents against the spec.
	for _, args := range [][]string{
		{"/usr/bin/python3", "-m", "osgeo_utils.samples.validate_gpkg", files[0]},
		{"ogrinfo", "-ro", "-al", "-so", files[0]},
		{"ogrinfo", "-ro", "-al", "-so", files[1]},
	} {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v: %s (make test installs gdal-bin)", strings.Join(args, " "), err, out)
		}
		if args[0] == "ogrinfo" && !strings.Contains(string(out), fmt.Sprintf("Feature Count: %d\n", len(want))) {
			t.Errorf("%s says:\n%s", strings.Join(args, " "), out)
		}
		if strings.Contains(string(out), "Warning") || strings.Contains(string(out), "ERROR") || args[0] != "ogrinfo" && len(out) > 0 {
			t.Errorf("%s says:\n%s", strings.Join(args, " "), out)
		}
	}

	uploads := t.TempDir()
	base := serve(t, dbURL, "--upload-dir", uploads)
	for _, tt := range []struct{ format, ctype, file string }{
		{"gpkg", "application/geopackage+sqlite3", "grids.gpkg"},
		{"shp", "application/zip", "grids.zip"},
	} {
		resp, err := http.Get(fmt.Sprintf("%s/api/v1/generations/%d/export?level=grid&format=%s", base, gen, tt.format))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.ctype ||
			resp.Header.Get("Content-Disposition") != `attachment; filename="`+tt.file+`"` || resp.ContentLength != int64(len(body)) {
			t.Fatalf("GET export format=%s: %d %v: %.200s", tt.format, resp.StatusCode, resp.Header, body)
		}
		path := filepath.Join(dir, "http", tt.file)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	for _, tt := range []struct {
		query  string
		status int
		msg    string
	}{
		{"level=grid&format=kml", http.StatusBadRequest, "use geojson, csv, gpkg or shp"},
		{"level=block&format=gpkg", http.StatusBadRequest, "level"},
	} {
		var e apiError
		getJSON(t, fmt.Sprintf("%s/api/v1/generations/%d/export?%s", base, gen, tt.query), tt.status, &e)
		if !strings.Contains(e.Error.Message, tt.msg) {
			t.Errorf("export?%s: %+v, want %q", tt.query, e, tt.msg)
		}
	}
	var e apiError
	getJSON(t, base+"/api/v1/generations/99/export?level=grid&format=shp", http.StatusNotFound, &e)
	if entries, _ := os.ReadDir(uploads); len(entries) != 0 {
		t.Errorf("the API's exports left %v behind", entries)
	}

	// Each file, imported as a new version of 城管's grid layer, gives
	// back exactly the generation's grids.
	for _, path := range files {
		mustGridd(t, "import", "--db", dbURL, "--level", "grid", "--dept", "chengguan", path)
		rows, err := conn.Query(ctx, `
			SELECT f.code, a.code IS NOT NULL AND f.name = a.name AND f.parent_code = a.parent_code
			       AND f.households IS NOT DISTINCT FROM coalesce(n.households, a.households) AND f.population IS NOT DISTINCT FROM a.population
			       AND ST_Equals(f.geom, a.geom)
			FROM source_features f LEFT JOIN areas a ON a.generation = $1 AND a.level = 'grid' AND a.code = f.code
			LEFT JOIN area_counts n ON n.generation = a.generation AND n.code = a.code
			WHERE f.layer_id = (SELECT id FROM source_layers WHERE dept_code = 'chengguan' AND level = 'grid' ORDER BY version DESC LIMIT 1)
			ORDER BY f.code`, gen)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var differ []string
		for rows.Next() {
			var code string
			var same bool
			if err := rows.Scan(&code, &same); err != nil {
				t.Fatal(err)
			}
			got = append(got, code)
			if !same {
				differ = append(differ, code)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s imported %d grids, the generation has %d", path, len(got), len(want))
		}
		if len(differ) > 0 {
			t.Errorf("%s: %d grids came back with other attributes or shapes, e.g. %s", path, len(differ), differ[0])
		}
	}

	// A failed export leaves no file, and no half of a shapefile.
	failed := filepath.Join(dir, "failed")
	os.MkdirAll(failed, 0o755)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--gen", "99", filepath.Join(failed, "grids.shp")}, "no generation 99"},
		{[]string{"--gen", "99", filepath.Join(failed, "grids.gpkg")}, "no generation 99"},
		{[]string{"--format", "shp", filepath.Join(failed, "grids.dat")}, "ending in .shp"},
		{[]string{"--crosswalk", "--dept", "chengguan", filepath.Join(failed, "cw.gpkg")}, "export it as CSV"},
	} {
		_, err := gridd(t, append([]string{"export", "--db", dbURL, "--level", "grid"}, tt.args...)...)
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("export %v: error %v, want one line with %q", tt.args, err, tt.want)
		}
	}
	if entries, _ := os.ReadDir(failed); len(entries) != 0 {
		t.Errorf("failed exports left %v", entries)
	}
}
