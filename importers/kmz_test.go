package importers

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// gdalGeoJSON is the layer the GDAL fixtures are written from: Chinese
// field names and values, a polygon with a hole and a multipolygon.
const gdalGeoJSON = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"名称":"东湖社区","编码":"330212001001","households":350},"geometry":{"type":"Polygon","coordinates":[[[121.5,29.8],[121.51,29.8],[121.51,29.81],[121.5,29.81],[121.5,29.8]],[[121.502,29.802],[121.504,29.802],[121.504,29.804],[121.502,29.802]]]}},
{"type":"Feature","properties":{"名称":"西湖社区","编码":"330212001002","households":12},"geometry":{"type":"MultiPolygon","coordinates":[[[[121.6,29.8],[121.61,29.8],[121.61,29.81],[121.6,29.8]]],[[[121.7,29.8],[121.71,29.8],[121.71,29.81],[121.7,29.8]]]]}}]}`

// ogr2ogr writes a fixture with GDAL's driver; the tests need gdal-bin
// (Debian) and fail, not skip, without it.
func ogr2ogr(t *testing.T, driver, out string) string {
	t.Helper()
	bin, err := exec.LookPath("ogr2ogr")
	if err != nil {
		t.Fatalf("ogr2ogr is not installed: the KML/KMZ tests write their fixtures with GDAL; install it (apt-get install gdal-bin)")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "社区.geojson")
	if err := os.WriteFile(src, []byte(gdalGeoJSON), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, out)
	if b, err := exec.Command(bin, "-f", driver, dst, src).CombinedOutput(); err != nil {
		t.Fatalf("ogr2ogr -f %s: %v: %s", driver, err, b)
	}
	return dst
}

func TestKMLFromGDAL(t *testing.T) {
	for _, tt := range []struct {
		driver, out, format string
	}{
		{"LIBKML", "社区.kmz", "kmz"},
		{"KML", "社区.kml", "kml"},
		{"LIBKML", "社区.kml", "kml"},
	} {
		t.Run(tt.driver+" "+tt.out, func(t *testing.T) {
			info, fs, err := readAll(t, ogr2ogr(t, tt.driver, tt.out), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != tt.format {
				t.Errorf("format %q, want %q", info.Format, tt.format)
			}
			for _, f := range []string{"名称", "编码", "households"} {
				if !contains(info.Fields, f) {
					t.Errorf("fields %v: %s missing", info.Fields, f)
				}
			}
			m, err := MapFields(info.Fields, Options{})
			if err != nil || m.Code != "编码" || m.Name != "名称" || m.Households != "households" {
				t.Errorf("mapping %+v, %v", m, err)
			}
			if len(fs) != 2 {
				t.Fatalf("%d features, want 2", len(fs))
			}
			if fs[0].Props["编码"] != "330212001001" || fs[0].Props["名称"] != "东湖社区" || fs[0].Props["households"] != int64(350) {
				t.Errorf("first: %#v", fs[0].Props)
			}
			if fs[1].Props["编码"] != "330212001002" || fs[1].Props["名称"] != "西湖社区" || fs[1].Props["households"] != int64(12) {
				t.Errorf("second: %#v", fs[1].Props)
			}
			if p, ok := fs[0].Geometry.(orb.Polygon); !ok || len(p) != 2 {
				t.Errorf("first geometry %v: want a polygon with a hole", fs[0].Geometry)
			}
			if mp, ok := fs[1].Geometry.(orb.MultiPolygon); !ok || len(mp) != 2 {
				t.Errorf("second geometry %v: want a multipolygon of 2", fs[1].Geometry)
			}
		})
	}
}

// layerKML is a layer file as LIBKML writes it into a KMZ; schemaURL is
// where its Schema is.
func layerKML(schemaURL, schema string) []byte {
	return []byte(`<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>` + schema + `
<Placemark><ExtendedData><SchemaData schemaUrl="` + schemaURL + `"><SimpleData name="编码">330206001001</SimpleData><SimpleData name="户数">420</SimpleData></SchemaData></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>121.80,29.88 121.81,29.88 121.81,29.89 121.80,29.88</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
</Document></kml>`)
}

const kmlSchema = `<Schema id="s"><SimpleField name="编码" type="string"/><SimpleField name="户数" type="int"/></Schema>`

func docLinks(hrefs ...string) []byte {
	s := `<kml xmlns="http://www.opengis.net/kml/2.2"><Document>`
	for _, h := range hrefs {
		s += `<NetworkLink><name>层</name><Link><href>` + h + `</href></Link></NetworkLink>`
	}
	return []byte(s + `</Document></kml>`)
}

func TestKMLFiles(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name   string
		path   string
		fields []string
		codes  []string
		first  map[string]any
	}{
		{"Google Earth nested folders", filepath.Join("testdata", "kml", "google-earth-folders.kml"),
			[]string{"name", "description", "编码", "户数"}, []string{"330206001001", "330206001201"},
			map[string]any{"name": "横河社区", "description": "网格员: 张三", "户数": "420"}},
		{"KMZ linking a layer in a folder", writeZip(t, filepath.Join(dir, "a.kmz"),
			zipEntry{name: "doc.kml", data: docLinks("layers/%E7%BD%91%E6%A0%BC.kml")},
			zipEntry{name: "layers/网格.kml", data: layerKML("#s", kmlSchema)}),
			[]string{"编码", "户数"}, []string{"330206001001"}, map[string]any{"户数": int64(420)}},
		{"KMZ with the Schema in doc.kml", writeZip(t, filepath.Join(dir, "b.kmz"),
			zipEntry{name: "doc.kml", data: []byte(`<kml><Document>` + kmlSchema + string(docLinks("./layers/a.kml", "layers/b.kml"))[len(`<kml xmlns="http://www.opengis.net/kml/2.2"><Document>`):])},
			zipEntry{name: "layers/a.kml", data: layerKML("../doc.kml#s", "")},
			zipEntry{name: "layers/b.kml", data: layerKML("../doc.kml#s", "")}),
			[]string{"编码", "户数"}, []string{"330206001001", "330206001001"}, map[string]any{"户数": int64(420)}},
		{"KMZ with several KML files and no links", writeZip(t, filepath.Join(dir, "c.kmz"),
			zipEntry{name: "doc.kml", data: []byte(`<kml><Document><name>空</name></Document></kml>`)},
			zipEntry{name: "x/one.kml", data: layerKML("#s", kmlSchema)},
			zipEntry{name: "x/two.kml", data: layerKML("#s", kmlSchema)}),
			[]string{"编码", "户数"}, []string{"330206001001", "330206001001"}, map[string]any{"户数": int64(420)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, fs, err := readAll(t, tt.path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(info.Fields, ",") != strings.Join(tt.fields, ",") {
				t.Errorf("fields %v, want %v", info.Fields, tt.fields)
			}
			var codes []string
			for _, f := range fs {
				c, _ := f.Props["编码"].(string)
				codes = append(codes, c)
				if !isPolygonal(f.Geometry) {
					t.Errorf("geometry %v is not a polygon", f.Geometry)
				}
			}
			if strings.Join(codes, ",") != strings.Join(tt.codes, ",") {
				t.Errorf("codes %v, want %v", codes, tt.codes)
			}
			for k, v := range tt.first {
				if fs[0].Props[k] != v {
					t.Errorf("%s = %#v, want %#v", k, fs[0].Props[k], v)
				}
			}
		})
	}
	// The Google Earth file: the point beside the polygon is dropped,
	// the hole and the altitude-bearing ring kept.
	_, fs, err := readAll(t, filepath.Join("testdata", "kml", "google-earth-folders.kml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := fs[0].Geometry.(orb.Polygon); !ok || len(p) != 2 || p[0][3] != (orb.Point{121.80, 29.89}) {
		t.Errorf("geometry %v: want the polygon with its hole", fs[0].Geometry)
	}
}

func TestKMLNoPolygons(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		path string
		want []string
	}{
		{"points and a line", filepath.Join("testdata", "kml", "points-only.kml"),
			[]string{"points-only.kml: the file has no polygon placemarks: it has 3 point placemarks and 1 line placemark"}},
		{"a link to an outside URL", filepath.Join("testdata", "kml", "outside-link.kml"),
			[]string{"the file has no polygon placemarks: it has 1 link to an outside URL or a file not in it (http://example.com/grids.kml)", "never fetches"}},
		{"a KMZ linking outside and to a missing file", writeZip(t, filepath.Join(dir, "o.kmz"),
			zipEntry{name: "doc.kml", data: docLinks("https://example.com/a.kml", "layers/missing.kml", "../../etc/x.kml")}),
			[]string{"o.kmz: doc.kml: the file has no polygon placemarks: it has 3 links", "https://example.com/a.kml, layers/missing.kml, ../../etc/x.kml"}},
		{"an empty KML", writeFile(t, "empty.kml", []byte(`<kml><Document/></kml>`)),
			[]string{"the file has no polygon placemarks: it has no placemarks"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, tt.path, Options{})
			checkErr(t, err, geo.EINVALID, tt.want...)
		})
	}
}

func TestFieldList(t *testing.T) {
	for _, tt := range []struct {
		fields []string
		want   string
	}{
		{nil, `--code-field "code" is not a field of this file; the file has no attribute fields`},
		{[]string{"名称", "编码"}, `--code-field "code" is not a field of this file; its fields are: 名称, 编码`},
	} {
		_, err := MapFields(tt.fields, Options{CodeField: "code"})
		checkErr(t, err, geo.EINVALID, tt.want)
	}
}
