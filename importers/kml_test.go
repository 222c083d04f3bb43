package importers

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// kmlDoc is a KML document as Google Earth and 91卫图 write them: a
// schema, placemarks with a polygon with a hole, a MultiGeometry of two
// polygons, extended data, and a point.
const kmlDoc = `<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>
  <name>鄞州区社区</name>
  <Schema name="社区" id="s1"><SimpleField name="编码" type="string"/><SimpleField name="户数" type="int"/></Schema>
  <Folder><name>社区</name>
    <Placemark>
      <name>东湖社区</name>
      <description><![CDATA[<b>东湖</b> &amp; more]]></description>
      <ExtendedData><SchemaData schemaUrl="#s1"><SimpleData name="编码">330212001001</SimpleData><SimpleData name="户数">350</SimpleData></SchemaData></ExtendedData>
      <Polygon><outerBoundaryIs><LinearRing><coordinates>
        121.5,29.8,0 121.5,29.81,0 121.51,29.81,0 121.51,29.8,0 121.5,29.8,0
      </coordinates></LinearRing></outerBoundaryIs>
      <innerBoundaryIs><LinearRing><coordinates>121.502,29.802 121.504,29.802 121.504,29.804 121.502,29.802</coordinates></LinearRing></innerBoundaryIs></Polygon>
    </Placemark>
    <Placemark>
      <name>西湖社区</name>
      <ExtendedData><Data name="编码"><displayName>编码</displayName><value>330212001002</value></Data></ExtendedData>
      <MultiGeometry>
        <Polygon><outerBoundaryIs><LinearRing><coordinates>121.6,29.8 121.6,29.81 121.61,29.81 121.6,29.8</coordinates></LinearRing></outerBoundaryIs></Polygon>
        <Polygon><outerBoundaryIs><LinearRing><coordinates>121.7, 29.8  121.7, 29.81  121.71, 29.81</coordinates></LinearRing></outerBoundaryIs></Polygon>
      </MultiGeometry>
    </Placemark>
    <Placemark><name>服务站</name><Point><coordinates>121.55,29.85,12</coordinates></Point></Placemark>
  </Folder>
</Document>
</kml>`

func TestKML(t *testing.T) {
	dir := t.TempDir()
	gbkDoc := append(gbk(t, strings.Replace(kmlDoc, `encoding="UTF-8"`, `encoding="GBK"`, 1)), '\n')
	for _, tt := range []struct {
		name     string
		path     string
		format   string
		encoding string
	}{
		{"KML", writeFile(t, "社区.kml", []byte(kmlDoc)), "kml", "UTF-8"},
		{"KML with a byte-order mark", writeFile(t, "bom.kml", append([]byte("\xef\xbb\xbf"), kmlDoc...)), "kml", "UTF-8"},
		{"KML in GBK", writeFile(t, "gbk.kml", gbkDoc), "kml", "GBK"},
		{"KMZ", writeZip(t, filepath.Join(dir, "社区.kmz"), zipEntry{name: "files/icon.png", data: []byte("png")},
			zipEntry{name: "files/other.kml", data: []byte("<kml/>")}, zipEntry{name: "doc.kml", data: []byte(kmlDoc)}), "kmz", "UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, fs, err := readAll(t, tt.path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := Info{Format: tt.format, SRS: "EPSG:4326", Encoding: tt.encoding, Fields: []string{"name", "description", "编码", "户数"}}
			if !reflect.DeepEqual(info, want) {
				t.Errorf("info %+v, want %+v", info, want)
			}
			if len(fs) != 3 {
				t.Fatalf("%d features, want 3", len(fs))
			}
			if fs[0].Props["name"] != "东湖社区" || fs[0].Props["description"] != "<b>东湖</b> &amp; more" || fs[0].Props["编码"] != "330212001001" || fs[0].Props["户数"] != int64(350) {
				t.Errorf("first placemark: %v", fs[0].Props)
			}
			if fs[1].Props["name"] != "西湖社区" || fs[1].Props["编码"] != "330212001002" {
				t.Errorf("second placemark: %v", fs[1].Props)
			}
			p, ok := fs[0].Geometry.(orb.Polygon)
			if !ok || len(p) != 2 || p[0][2] != (orb.Point{121.51, 29.81}) || p[1][1] != (orb.Point{121.504, 29.802}) {
				t.Errorf("first geometry %v", fs[0].Geometry)
			}
			mp, ok := fs[1].Geometry.(orb.MultiPolygon)
			if !ok || len(mp) != 2 || len(mp[1][0]) != 4 || mp[1][0][3] != mp[1][0][0] {
				t.Errorf("second geometry %v: want a MultiPolygon, the open ring closed", fs[1].Geometry)
			}
			if fs[2].Geometry != (orb.Point{121.55, 29.85}) {
				t.Errorf("third geometry %v, want the point kept a point", fs[2].Geometry)
			}
		})
	}
}

func TestKMLErrors(t *testing.T) {
	pm := func(body string) string {
		return `<kml><Document><Placemark><name>甲</name><Point><coordinates>1,1</coordinates></Point></Placemark><Placemark><name>东湖社区</name>` + body + `</Placemark></Document></kml>`
	}
	poly := `<Polygon><outerBoundaryIs><LinearRing><coordinates>1,1 1,2 2,2 1,1</coordinates></LinearRing></outerBoundaryIs></Polygon>`
	for _, tt := range []struct {
		name string
		doc  string
		opts Options
		code string
		want []string
	}{
		{"no geometry", `<kml><Placemark><name>空</name></Placemark></kml>`, Options{}, geo.EINVALID, []string{"x.kml: placemark 1 (空) has no geometry"}},
		{"bad coordinates", pm(`<Point><coordinates>1,abc</coordinates></Point>`), Options{}, geo.EINVALID, []string{"placemark 2 (东湖社区) has bad coordinates", `"abc" is not a number`}},
		{"one number", pm(`<Point><coordinates>1</coordinates></Point>`), Options{}, geo.EINVALID, []string{"only one number"}},
		{"no outer boundary", pm(`<Polygon><innerBoundaryIs><LinearRing><coordinates>1,1 1,2 2,2 1,1</coordinates></LinearRing></innerBoundaryIs></Polygon>`), Options{}, geo.EINVALID, []string{"without an outerBoundaryIs"}},
		{"vertex limit", pm(poly), Options{MaxVertices: 3}, geo.EINVALID, []string{"placemark 2 (东湖社区) has more than 3 vertices"}},
		{"vertex limit across a MultiGeometry", pm(`<MultiGeometry>` + poly + poly + `</MultiGeometry>`), Options{MaxVertices: 6}, geo.EINVALID, []string{"has more than 6 vertices"}},
		{"truncated", `<kml><Placemark><name>半</name><Polygon><outer`, Options{}, geo.EINVALID, []string{"x.kml: line 1", "unexpected EOF"}},
		{"GBK without a declaration", string(gbk(t, pm(poly))), Options{}, geo.EINVALID, []string{"not valid UTF-8", `encoding="GBK"`}},
		{"unknown declared encoding", `<?xml version="1.0" encoding="klingon"?><kml/>`, Options{}, geo.EINVALID, []string{"klingon"}},
		{"feature limit", pm(poly), Options{MaxFeatures: 1}, geo.ETOOLARGE, []string{"more than 1 features"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, writeFile(t, "x.kml", []byte(tt.doc)), tt.opts)
			checkErr(t, err, tt.code, tt.want...)
		})
	}
	_, _, err := readAll(t, writeZip(t, filepath.Join(t.TempDir(), "x.kmz"), zipEntry{name: "a.txt", data: []byte("x")}), Options{})
	checkErr(t, err, geo.EINVALID, "holds no .kml file")
	_, _, err = readAll(t, writeZip(t, filepath.Join(t.TempDir(), "x.kmz"), zipEntry{name: "../doc.kml", data: []byte(kmlDoc)}), Options{})
	checkErr(t, err, geo.EINVALID, "climbs out of the archive")
}

// TestKMLHugeText: an element's text beyond what the vertex limit allows
// is refused while it streams in, not after it was read into memory.
func TestKMLHugeText(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<kml><Placemark><name>大</name><Polygon><outerBoundaryIs><LinearRing><coordinates>`)
	for b.Len() < 17<<20 {
		fmt.Fprintf(&b, "121.%07d,29.%07d ", b.Len()%9999999, b.Len()%7777777)
	}
	b.WriteString(`</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>`)
	_, _, err := readAll(t, writeFile(t, "big.kml", []byte(b.String())), Options{MaxVertices: 1000})
	checkErr(t, err, geo.ETOOLARGE, "big.kml: line 1", "more than 16.0 MB of text")
}

func TestParseKMLCoordinates(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []orb.Point
		err  bool
	}{
		{"1,2 3,4", []orb.Point{{1, 2}, {3, 4}}, false},
		{"\n\t1,2,0\n\t3,4,0\n", []orb.Point{{1, 2}, {3, 4}}, false},
		{"1, 2  3 ,4", []orb.Point{{1, 2}, {3, 4}}, false},
		{"-1.5e2,+2", []orb.Point{{-150, 2}}, false},
		{"", nil, false},
		{"1,,2", nil, true},
		{"1,2 3", nil, true},
		{"a,b", nil, true},
	} {
		got, err := parseKMLCoordinates([]byte(tt.in), 100)
		if (err != nil) != tt.err || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: got %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.err)
		}
	}
}
