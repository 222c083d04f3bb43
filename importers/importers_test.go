package importers

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

const geojsonDoc = `{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4490"}},
"features":[{"type":"Feature","properties":{"名称":"东湖社区"},"geometry":{"type":"Polygon","coordinates":[[[121.5,29.8],[121.5,29.81],[121.51,29.81],[121.5,29.8]]]}}]}`

func TestOpenDispatch(t *testing.T) {
	dir := t.TempDir()
	shp := communities(nil, 0, "", "").write(t, dir, "c")
	gpkg := writeGPKG(t, filepath.Join(dir, "g.gpkg"), [][]any{srs4490}, gpkgTableSpec{name: "t", geomType: "POLYGON", srsID: 4490,
		rows: [][]any{{gpkgBlob(t, orb.Polygon{square(1, 1, 1)}, 4490, false, false), "a", "b", 1}}})
	for _, tt := range []struct {
		path, format string
	}{
		{writeFile(t, "a.geojson", []byte(geojsonDoc)), "geojson"},
		{writeFile(t, "a.JSON", []byte(geojsonDoc)), "geojson"},
		{shp, "shapefile"},
		{dir + "/", "shapefile"},
		{writeZip(t, filepath.Join(dir, "c.zip"), shapefileEntries(t, communities(nil, 0, "", ""), "c")...), "shapefile"},
		{gpkg, "gpkg"},
		{writeFile(t, "a.kml", []byte(kmlDoc)), "kml"},
		{writeZip(t, filepath.Join(dir, "a.kmz"), zipEntry{name: "doc.kml", data: []byte(kmlDoc)}), "kmz"},
		{writeFile(t, "a.CSV", []byte(csvWKT)), "csv"},
	} {
		t.Run(tt.format+" "+filepath.Base(tt.path), func(t *testing.T) {
			info, fs, err := readAll(t, tt.path, Options{})
			if err != nil || info.Format != tt.format || len(fs) == 0 {
				t.Errorf("%+v, %d features, %v", info, len(fs), err)
			}
		})
	}
	for _, tt := range []struct {
		path string
		opts Options
		code string
		want []string
	}{
		{writeFile(t, "a.xlsx", []byte("x")), Options{}, geo.EINVALID, []string{`unsupported file type ".xlsx"`, ".geojson", ".shp", ".zip", ".gpkg", ".kml", ".kmz", ".csv"}},
		{strings.TrimSuffix(shp, ".shp") + ".dbf", Options{}, geo.EINVALID, []string{"c.dbf is one part of a shapefile", "give the .shp"}},
		{filepath.Join(dir, "missing.geojson"), Options{}, geo.EINVALID, []string{"cannot open", "missing.geojson"}},
		{writeFile(t, "big.geojson", []byte(geojsonDoc)), Options{MaxFileSize: 100}, geo.ETOOLARGE, []string{"big.geojson is", "more than the limit of 100 B"}},
	} {
		_, _, err := readAll(t, tt.path, tt.opts)
		checkErr(t, err, tt.code, tt.want...)
	}
}

func TestGeoJSONLimits(t *testing.T) {
	info, fs, err := readAll(t, writeFile(t, "a.geojson", []byte(geojsonDoc)), Options{})
	if err != nil || info.SRS != "EPSG:4490" || len(fs) != 1 || fs[0].Props["名称"] != "东湖社区" {
		t.Fatalf("%+v, %v, %v", info, fs, err)
	}
	_, _, err = readAll(t, writeFile(t, "a.geojson", []byte(geojsonDoc)), Options{MaxVertices: 3})
	checkErr(t, err, geo.EINVALID, "feature 1 has 4 vertices, more than the limit of 3")
	nd := strings.Repeat(`{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[1,2]}}`+"\n", 3)
	_, _, err = readAll(t, writeFile(t, "a.ndjson", []byte(nd)), Options{MaxFeatures: 2})
	checkErr(t, err, geo.ETOOLARGE, "more than 2 features")

	// One feature larger than the vertex limit allows is refused while it
	// is read, not after.
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[`)
	for i := 0; b.Len() < 17<<20; i++ {
		fmt.Fprintf(&b, "[121.%07d,29.%07d],", i, i)
	}
	b.WriteString(`[0,0]]}}]}`)
	_, _, err = readAll(t, writeFile(t, "big.geojson", []byte(b.String())), Options{MaxVertices: 1000})
	checkErr(t, err, geo.ETOOLARGE, "feature 1 is larger than 16.0 MB")
}

func TestLookupCharset(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"UTF-8", "UTF-8"}, {"utf8", "UTF-8"}, {"65001", "UTF-8"}, {" UTF-8\r\n", "UTF-8"},
		{"GBK", "GBK"}, {"936", "GBK"}, {"CP936", "GBK"}, {"GB2312", "GBK"}, {"ANSI 936", "GBK"}, {"windows-936", "GBK"},
		{"GB18030", "GB18030"}, {"54936", "GB18030"},
		{"big5", "Big5"}, {"950", "Big5"}, {"latin1", "ISO-8859-1"}, {"ISO-8859-1", "ISO-8859-1"}, {"88591", "ISO-8859-1"},
		{"1252", "windows-1252"}, {"windows-1251", "windows-1251"}, {"shift_jis", "Shift_JIS"}, {"EUC-KR", "EUC-KR"},
		{"ANSI", ""}, {"OEM", ""}, {"", ""}, {"klingon", ""},
	} {
		c, ok := lookupCharset(tt.in)
		if (tt.want == "") == ok || ok && c.name != tt.want {
			t.Errorf("lookupCharset(%q) = %q, %v; want %q", tt.in, c.name, ok, tt.want)
		}
	}
}

func TestSafeZipNames(t *testing.T) {
	for name, bad := range map[string]bool{
		"a.shp": false, "dir/a.shp": false, "./a.shp": false, "a..b.shp": false, "社区/网格.shp": false,
		"../a.shp": true, "dir/../../a.shp": true, "/etc/passwd": true, `C:\a.shp`: true, `..\a.shp`: true, "a\x00.shp": true,
	} {
		if got := unsafeZipName(name) != ""; got != bad {
			t.Errorf("unsafeZipName(%q) = %v, want %v", name, got, bad)
		}
	}
}

func TestAssembleRings(t *testing.T) {
	// All rings counter-clockwise (a writer that ignores the rule): each is
	// a polygon of its own rather than a hole of nothing.
	g := assembleRings([]orb.Ring{reversed(square(0, 0, 1)), reversed(square(5, 5, 1))})
	if mp, ok := g.(orb.MultiPolygon); !ok || len(mp) != 2 {
		t.Errorf("all counter-clockwise: %v", g)
	}
	// A hole inside two nested outer rings goes to the smaller one.
	g = assembleRings([]orb.Ring{square(0, 0, 100), square(10, 10, 10), reversed(square(12, 12, 1))})
	mp := g.(orb.MultiPolygon)
	if len(mp[0]) != 1 || len(mp[1]) != 2 {
		t.Errorf("nested: %v", mp)
	}
	// A hole outside every outer ring becomes a polygon.
	g = assembleRings([]orb.Ring{square(0, 0, 1), reversed(square(5, 5, 1))})
	if mp, ok := g.(orb.MultiPolygon); !ok || len(mp) != 2 {
		t.Errorf("stray hole: %v", g)
	}
}

// TestLanguageDrivers: every code page in the driver table is one gridd
// can decode, so a driver byte never names an encoding it cannot use.
func TestLanguageDrivers(t *testing.T) {
	for id, cp := range ldidCodePages {
		d, err := encodingHint{ldid: id}.declare()
		if err != nil {
			t.Fatal(err)
		}
		if d.cs == nil {
			t.Logf("driver 0x%02X (code page %d) is not decodable: falls through to detection", id, cp)
			continue
		}
		if d.cs.enc == nil || d.cs.name == "" {
			t.Errorf("driver 0x%02X (code page %d) gave charset %+v", id, cp, d.cs)
		}
	}
}
