package exporters_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gridd/gridd/exporters"
	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/importers"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// square is a closed ring around (x, y) of side d, counter-clockwise as
// PostGIS and GeoJSON run outer rings.
func square(x, y, d float64) orb.Ring {
	return orb.Ring{{x, y}, {x + d, y}, {x + d, y + d}, {x, y + d}, {x, y}}
}

func reversed(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		out[len(r)-1-i] = p
	}
	return out
}

func intp(v int) *int { return &v }

// features are three grids: a plain square, one with a hole and a second
// part, and one whose rings run the shapefile way already (outer clockwise).
func features() []exporters.Feature {
	return []exporters.Feature{
		{Code: "330212001001001", Name: "测试第1网格", Parent: "330212001001", Level: "grid", Households: intp(120), Population: intp(305), AreaM2: 1071234.5,
			Geometry: orb.MultiPolygon{{square(121.5, 29.8, 0.01)}}},
		{Code: "330212001001002", Name: "中河街道·东湖社区第二网格（含水域）", Parent: "330212001001", Level: "grid", AreaM2: 1055000.1,
			Review: "new grid from a gap no departmental grid covers",
			Geometry: orb.MultiPolygon{
				{square(121.52, 29.8, 0.01), reversed(square(121.522, 29.802, 0.002))},
				{square(121.54, 29.8, 0.005)},
			}},
		{Code: "330212001002001", Name: "西湖社区网格", Parent: "330212001002", Level: "grid", Households: intp(0), Population: intp(1234567), AreaM2: 12.3,
			Geometry: orb.MultiPolygon{{reversed(square(121.56, 29.8, 0.01))}}},
	}
}

// wantArea is each feature's planar area in square degrees.
var wantArea = []float64{1e-4, 1e-4 - 4e-6 + 2.5e-5, 1e-4}

// yield hands fs to write, as the database side does.
func yield(fs []exporters.Feature) func(func(exporters.Feature) error) error {
	return func(write func(exporters.Feature) error) error {
		for _, f := range fs {
			if err := write(f); err != nil {
				return err
			}
		}
		return nil
	}
}

// canonical orients outer rings counter-clockwise and holes clockwise, so
// geometries that differ only in ring direction compare equal.
func canonical(t *testing.T, g orb.Geometry) orb.MultiPolygon {
	t.Helper()
	var mp orb.MultiPolygon
	switch g := g.(type) {
	case orb.Polygon:
		mp = orb.MultiPolygon{g}
	case orb.MultiPolygon:
		mp = g
	default:
		t.Fatalf("geometry %T, want polygons", g)
	}
	out := orb.MultiPolygon{}
	for _, p := range mp {
		var q orb.Polygon
		for i, r := range p {
			if (i == 0) != (r.Orientation() == orb.CCW) {
				r = reversed(r)
			}
			q = append(q, r)
		}
		out = append(out, q)
	}
	return out
}

func TestWriteFileReadBack(t *testing.T) {
	for _, tt := range []struct {
		name, file, format string
		gdalPath           func(string) string // what GDAL opens
		gdalGeom           string
	}{
		{"geopackage", "grids.gpkg", exporters.FormatGeoPackage, nil, "Multi Polygon"},
		{"shapefile", "grids.shp", exporters.FormatShapefile, nil, "Polygon"},
		{"zipped shapefile", "网格.zip", exporters.FormatShapefile, func(p string) string { return "/vsizip/" + p }, "Polygon"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if got := exporters.FormatOf(path); got != tt.format {
				t.Errorf("FormatOf(%s) = %q", tt.file, got)
			}
			if err := exporters.WriteFile(path, tt.format, "grids", yield(features())); err != nil {
				t.Fatal(err)
			}
			checkFiles(t, dir, tt.file)
			checkImported(t, path)
			gdal := path
			if tt.gdalPath != nil {
				gdal = tt.gdalPath(path)
			}
			checkGDAL(t, gdal, tt.gdalGeom)
		})
	}
}

// checkFiles says what the export left in dir: the file, the shapefile's
// parts beside a .shp, and no temporary files.
func checkFiles(t *testing.T, dir, file string) {
	t.Helper()
	want := []string{file}
	if filepath.Ext(file) == ".shp" {
		base := strings.TrimSuffix(file, ".shp")
		want = []string{base + ".cpg", base + ".dbf", base + ".prj", base + ".shp", base + ".shx"}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("files %v, want %v", got, want)
	}
	if filepath.Ext(file) == ".shp" {
		base := filepath.Join(dir, strings.TrimSuffix(file, ".shp"))
		for ext, want := range map[string]string{".cpg": "UTF-8", ".prj": `GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`} {
			if b, _ := os.ReadFile(base + ext); string(b) != want {
				t.Errorf("%s is %q, want %q", ext, b, want)
			}
		}
	}
}

// checkImported reads the file back with gridd's own importers.
func checkImported(t *testing.T, path string) {
	t.Helper()
	r, err := importers.Open(path, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	info := r.Info()
	if info.SRS != "EPSG:4326" || info.Encoding != "UTF-8" {
		t.Errorf("info %+v, want EPSG:4326 in UTF-8", info)
	}
	m, err := importers.MapFields(info.Fields, importers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := importers.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	want := features()
	if len(got) != len(want) {
		t.Fatalf("read %d features, wrote %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if err := m.Apply(&g); err != nil {
			t.Fatal(err)
		}
		if g.Code != w.Code || g.Name != w.Name || g.ParentCode != w.Parent || !reflect.DeepEqual(g.Households, w.Households) || !reflect.DeepEqual(g.Population, w.Population) {
			t.Errorf("feature %d: %s %q %s %v %v, want %+v", i+1, g.Code, g.Name, g.ParentCode, g.Households, g.Population, w)
		}
		if g.Props["level"] != "grid" || g.Props["review"] != w.Review || g.Props["area_m2"] != math.Round(w.AreaM2*10)/10 {
			t.Errorf("feature %d: properties %v", i+1, g.Props)
		}
		if c := canonical(t, g.Geometry); !reflect.DeepEqual(c, canonical(t, w.Geometry)) {
			t.Errorf("feature %d: geometry %v, want %v", i+1, c, w.Geometry)
		}
	}
}

// checkGDAL reads the file with GDAL, the reader behind QGIS and many
// other desktops: its summary, then every feature as GeoJSON.
func checkGDAL(t *testing.T, path, geomType string) {
	t.Helper()
	out := gdal(t, "ogrinfo", "-ro", "-al", "-so", path)
	for _, want := range []string{"Feature Count: 3", "Geometry: " + geomType, `ID["EPSG",4326]`,
		"code: String", "name: String", "parent: String", "level: String", "households: Integer",
		"population: Integer", "area_m2: Real", "review: String", "Extent: (121.500000, 29.800000) - (121.570000, 29.810000)"} {
		if !strings.Contains(out, want) {
			t.Errorf("ogrinfo says:\n%s\nwant %q in it", out, want)
		}
	}
	var fc struct {
		Features []struct {
			Properties map[string]any
			Geometry   json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(gdal(t, "ogr2ogr", "-f", "GeoJSON", "/vsistdout/", path)), &fc); err != nil {
		t.Fatal(err)
	}
	want := features()
	if len(fc.Features) != len(want) {
		t.Fatalf("GDAL reads %d features", len(fc.Features))
	}
	for i, f := range fc.Features {
		w := want[i]
		p := f.Properties
		if p["code"] != w.Code || p["name"] != w.Name || p["parent"] != w.Parent || p["level"] != w.Level || p["review"] != w.Review && !(w.Review == "" && p["review"] == nil) {
			t.Errorf("GDAL feature %d: %v", i+1, p)
		}
		if (w.Households == nil) != (p["households"] == nil) || w.Households != nil && p["households"] != float64(*w.Households) {
			t.Errorf("GDAL feature %d: households %v, want %v", i+1, p["households"], w.Households)
		}
		if p["area_m2"] != math.Round(w.AreaM2*10)/10 {
			t.Errorf("GDAL feature %d: area_m2 %v", i+1, p["area_m2"])
		}
		g, err := geojsonGeometry(f.Geometry)
		if err != nil {
			t.Fatal(err)
		}
		if a := planar.Area(g); math.Abs(a-wantArea[i]) > 1e-12 {
			t.Errorf("GDAL feature %d: area %g square degrees, want %g", i+1, a, wantArea[i])
		}
	}
}

// geojsonGeometry decodes a GeoJSON (Multi)Polygon.
func geojsonGeometry(raw json.RawMessage) (orb.Geometry, error) {
	var g struct {
		Type        string
		Coordinates json.RawMessage
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, err
	}
	switch g.Type {
	case "Polygon":
		var p [][][2]float64
		err := json.Unmarshal(g.Coordinates, &p)
		return toMulti([][][][2]float64{p})[0], err
	case "MultiPolygon":
		var mp [][][][2]float64
		err := json.Unmarshal(g.Coordinates, &mp)
		return toMulti(mp), err
	}
	return nil, errors.New("geometry type " + g.Type)
}

func toMulti(c [][][][2]float64) orb.MultiPolygon {
	var mp orb.MultiPolygon
	for _, p := range c {
		var poly orb.Polygon
		for _, r := range p {
			var ring orb.Ring
			for _, pt := range r {
				ring = append(ring, orb.Point(pt))
			}
			poly = append(poly, ring)
		}
		mp = append(mp, poly)
	}
	return mp
}

// gdal runs a GDAL command line tool and returns what it printed; any
// warning on stderr fails the test. make test installs gdal-bin.
func gdal(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s (make test installs gdal-bin)", name, strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("%s %s warns: %s", name, strings.Join(args, " "), stderr.String())
	}
	return stdout.String()
}

// TestGeoPackageConformance runs GDAL's GeoPackage validator (a check of
// the spec's requirements, shipped with gdal-bin's python3-gdal), and
// checks the R-tree: GDAL uses it for a bounding-box query, and its
// triggers keep it right when GDAL edits a geometry.
func TestGeoPackageConformance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "grids.gpkg")
	if err := exporters.WriteFile(path, exporters.FormatGeoPackage, "grids", yield(features())); err != nil {
		t.Fatal(err)
	}
	out := gdal(t, "/usr/bin/python3", "-m", "osgeo_utils.samples.validate_gpkg", path)
	if strings.TrimSpace(out) != "" {
		t.Errorf("validate_gpkg: %s", out)
	}
	sql := func(q string, update bool) string {
		t.Helper()
		args := []string{path, "-sql", q, "-q"}
		if !update {
			args = append([]string{"-ro"}, args...)
		}
		return gdal(t, "ogrinfo", args...)
	}
	if out := sql("SELECT HasSpatialIndex('grids', 'geom')", false); !strings.Contains(out, "HasSpatialIndex (Integer) = 1") {
		t.Errorf("HasSpatialIndex: %s", out)
	}
	// Only the middle grid reaches x = 121.545.
	out = gdal(t, "ogrinfo", "-ro", "-al", "-q", "-spat", "121.544", "29.801", "121.546", "29.802", path)
	if !strings.Contains(out, "330212001001002") || strings.Count(out, "OGRFeature(grids)") != 1 {
		t.Errorf("spatial filter:\n%s", out)
	}
	// Move grid 1 onto grid 3's shape: the update trigger moves its entry.
	sql("UPDATE grids SET geom = (SELECT geom FROM grids WHERE fid = 3) WHERE fid = 1", true)
	if out := sql("SELECT minx FROM rtree_grids_geom WHERE id = 1", false); !strings.Contains(out, "minx (Real) = 121.55") {
		t.Errorf("R-tree after the update: %s", out)
	}
	sql("DELETE FROM grids WHERE fid = 2", true)
	if out := sql("SELECT count(*) AS n FROM rtree_grids_geom", false); !strings.Contains(out, "n (Integer) = 2") {
		t.Errorf("R-tree after the delete: %s", out)
	}
}

// TestWriteFileFailure: a failed export leaves nothing new behind, and an
// earlier export of the same name as it was.
func TestWriteFileFailure(t *testing.T) {
	long := features()
	long[1].Name = strings.Repeat("网", 100) // 300 bytes
	broken := errors.New("the database went away")
	for _, tt := range []struct {
		file, format string
		fs           []exporters.Feature
		failAfter    int // the feature source fails after this many
		want         string
	}{
		{"grids.gpkg", exporters.FormatGeoPackage, features(), 2, "went away"},
		{"grids.shp", exporters.FormatShapefile, features(), 2, "went away"},
		{"grids.zip", exporters.FormatShapefile, features(), 0, "went away"},
		{"grids.shp", exporters.FormatShapefile, long, -1, "grids.shp: feature 2 (330212001001002) has a name of 300 bytes, more than the 254 a shapefile field holds"},
		{"grids.zip", exporters.FormatShapefile, long, -1, "grids.zip: feature 2 (330212001001002) has a name of 300 bytes"},
	} {
		t.Run(tt.file+" "+tt.want, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.file)
			if err := exporters.WriteFile(path, tt.format, "grids", yield(features())); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			err := exporters.WriteFile(path, tt.format, "grids", func(write func(exporters.Feature) error) error {
				for i, f := range tt.fs {
					if i == tt.failAfter {
						return broken
					}
					if err := write(f); err != nil {
						return err
					}
				}
				return nil
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if after := snapshot(t, dir); !reflect.DeepEqual(after, before) {
				t.Errorf("the failed export changed the folder: %v, then %v", before, after)
			}
		})
	}
}

// snapshot maps each file of dir to its content.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = string(b)
	}
	return out
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		file, format, layer, want string
	}{
		{"grids.geojson", exporters.FormatShapefile, "grids", "needs a file name ending in .shp"},
		{"grids.gpkg", "kml", "grids", `export format "kml"`},
		{"grids.gpkg", exporters.FormatGeoPackage, "网格; DROP", "GeoPackage table name"},
		{"nowhere/grids.gpkg", exporters.FormatGeoPackage, "grids", "cannot write in"},
	} {
		err := exporters.WriteFile(filepath.Join(dir, tt.file), tt.format, tt.layer, yield(features()))
		if err == nil || geo.ErrorCode(err) != geo.EINVALID || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s as %s: error %v, want one line with %q", tt.file, tt.format, err, tt.want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("refused exports left %v", entries)
	}
}

// TestEmptyLayer: a level with no areas is still a valid, empty layer.
func TestEmptyLayer(t *testing.T) {
	for _, file := range []string{"empty.gpkg", "empty.shp"} {
		path := filepath.Join(t.TempDir(), file)
		if err := exporters.WriteFile(path, exporters.FormatOf(file), "grids", yield(nil)); err != nil {
			t.Fatal(err)
		}
		if out := gdal(t, "ogrinfo", "-ro", "-al", "-so", path); !strings.Contains(out, "Feature Count: 0") {
			t.Errorf("%s: ogrinfo says %s", file, out)
		}
	}
}
