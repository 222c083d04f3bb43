package importers

import (
	"reflect"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

const csvWKT = `编码,名称,户数,WKT
330212001001,东湖社区,350,"POLYGON ((121.5 29.8, 121.5 29.81, 121.51 29.81, 121.51 29.8, 121.5 29.8), (121.502 29.802, 121.504 29.802, 121.504 29.804, 121.502 29.802))"
330212001002,西湖社区,,"MULTIPOLYGON (((121.6 29.8, 121.6 29.81, 121.61 29.81, 121.6 29.8)), ((121.7 29.8, 121.7 29.81, 121.71 29.81, 121.7 29.8)))"
`

func TestCSV(t *testing.T) {
	dh := orb.Polygon{
		{{121.5, 29.8}, {121.5, 29.81}, {121.51, 29.81}, {121.51, 29.8}, {121.5, 29.8}},
		{{121.502, 29.802}, {121.504, 29.802}, {121.504, 29.804}, {121.502, 29.802}},
	}
	for _, tt := range []struct {
		name     string
		data     []byte
		opts     Options
		encoding string
		srs      string
		fields   []string
		names    []string
		first    orb.Geometry
	}{
		{"WKT in GBK (Excel on Chinese Windows)", gbk(t, csvWKT), Options{}, "GB18030", "", []string{"编码", "名称", "户数"}, []string{"东湖社区", "西湖社区"}, dh},
		{"WKT in GBK, --encoding gbk", gbk(t, csvWKT), Options{Encoding: "GBK"}, "GBK", "", []string{"编码", "名称", "户数"}, []string{"东湖社区", "西湖社区"}, dh},
		{"WKT in UTF-8 with a BOM", append([]byte("\xef\xbb\xbf"), csvWKT...), Options{}, "UTF-8", "", []string{"编码", "名称", "户数"}, []string{"东湖社区", "西湖社区"}, dh},
		{"WKT in UTF-8, CRLF", []byte(strings.ReplaceAll(csvWKT, "\n", "\r\n")), Options{}, "UTF-8", "", []string{"编码", "名称", "户数"}, []string{"东湖社区", "西湖社区"}, dh},
		{"GB18030-only character", gbk(t, strings.Replace(csvWKT, "东湖社区", "㙟塘村", 1)), Options{}, "GB18030", "", []string{"编码", "名称", "户数"}, []string{"㙟塘村", "西湖社区"}, dh},
		{"EWKT with Z", []byte("name,geom\nA,\"SRID=4490;POLYGON Z ((1 1 5, 1 2 5, 2 2 5, 1 1 5))\"\nB,POINT(3 4)\n"), Options{}, "UTF-8", "EPSG:4490", []string{"name"}, nil,
			orb.Polygon{{{1, 1}, {1, 2}, {2, 2}, {1, 1}}}},
		{"经度/纬度 points in GBK", gbk(t, "名称,经度,纬度\n服务站,121.55,29.85\n警务室, 121.56 , 29.86\n"), Options{}, "GB18030", "", []string{"名称"}, []string{"服务站", "警务室"}, orb.Point{121.55, 29.85}},
		{"lon/lat by option, tab-separated", []byte("name\tE\tN\nA\t121.55\t29.85\n"), Options{LonField: "e", LatField: "N"}, "UTF-8", "", []string{"name"}, nil, orb.Point{121.55, 29.85}},
		{"semicolon-separated", []byte("name;wkt\nA;POINT(1 2)\n"), Options{}, "UTF-8", "", []string{"name"}, nil, orb.Point{1, 2}},
		{"WKT column by option", []byte("name,shape_wkt,x\nA,POINT (1 2),9\n"), Options{WKTField: "SHAPE_WKT"}, "UTF-8", "", []string{"name", "x"}, nil, orb.Point{1, 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			info, fs, err := readAll(t, writeFile(t, "社区.csv", tt.data), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != "csv" || info.Encoding != tt.encoding || info.SRS != tt.srs || !reflect.DeepEqual(info.Fields, tt.fields) {
				t.Errorf("info %+v, want encoding %s, SRS %q, fields %q", info, tt.encoding, tt.srs, tt.fields)
			}
			if len(fs) == 0 || !reflect.DeepEqual(fs[0].Geometry, tt.first) {
				t.Fatalf("features %v, want the first to be %v", fs, tt.first)
			}
			for i, n := range tt.names {
				if fs[i].Props["名称"] != n {
					t.Errorf("feature %d: name %q, want %q", i+1, fs[i].Props["名称"], n)
				}
			}
		})
	}
	_, fs, err := readAll(t, writeFile(t, "a.csv", []byte(csvWKT)), Options{})
	if err != nil || fs[0].Props["户数"] != "350" || fs[1].Props["户数"] != "" || fs[1].Props["编码"] != "330212001002" {
		t.Errorf("attributes: %v, %v", fs, err)
	}
	if _, ok := fs[1].Geometry.(orb.MultiPolygon); !ok {
		t.Errorf("second geometry %v, want a MultiPolygon", fs[1].Geometry)
	}
}

func TestCSVErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		data string
		opts Options
		code string
		want []string
	}{
		{"bad WKT names its line", "name,wkt\nA,POINT(1 2)\nB,POINT(1 2)\nC,\"POLYGON((1 1, 2 x))\"\n", Options{}, geo.EINVALID, []string{"x.csv: line 4 has WKT"}},
		{"unknown word", "name,wkt\nA,BLOB(1 2)\n", Options{}, geo.EINVALID, []string{"line 2 has WKT that cannot be read"}},
		{"one-number coordinate", "name,wkt\nA,POINT(1)\n", Options{}, geo.EINVALID, []string{"line 2 has a WKT coordinate with only one number"}},
		{"NaN in WKT", "name,wkt\nA,POINT(NaN 1)\n", Options{}, geo.EINVALID, []string{"line 2 has a coordinate that is not a finite number"}},
		{"empty geometry cell", "name,wkt\nA,\n", Options{}, geo.EINVALID, []string{"line 2 has no geometry (column wkt is empty)"}},
		{"bad longitude", "name,lng,lat\nA,121.5,29.8\nB,东经121度,29.8\n", Options{}, geo.EINVALID, []string{"line 3 has longitude \"东经121度\", which is not a number"}},
		{"empty latitude", "name,lng,lat\nA,121.5,\n", Options{}, geo.EINVALID, []string{"line 2 has no latitude"}},
		{"infinite longitude", "name,lng,lat\nA,Inf,1\n", Options{}, geo.EINVALID, []string{"line 2 has a coordinate that is not a finite number (+Inf, 1)"}},
		{"no geometry column", "name,code\nA,1\n", Options{}, geo.EINVALID, []string{"has no geometry column", "--wkt-field", "--lon-field", "name, code"}},
		{"unknown --wkt-field", "name,wkt\nA,POINT(1 2)\n", Options{WKTField: "geo"}, geo.EINVALID, []string{`--wkt-field "geo" is not a column`, "name, wkt"}},
		{"unknown --lat-field", "name,lon,lat\nA,1,2\n", Options{LonField: "lon", LatField: "北"}, geo.EINVALID, []string{`--lat-field "北" is not a column`}},
		{"too many values", "name,lon,lat\nA,1,2,3\n", Options{}, geo.EINVALID, []string{"line 2 has 4 values but the header names 3 columns"}},
		{"bad quoting", "name,wkt\nA,\"POINT(1 2)\"x\n", Options{}, geo.EINVALID, []string{"line 2", "quot"}},
		{"vertex limit", "name,wkt\nA,\"POLYGON((1 1, 1 2, 2 2, 1 1))\"\n", Options{MaxVertices: 3}, geo.EINVALID, []string{"line 2 has more than 3 vertices"}},
		{"feature limit", "name,lon,lat\nA,1,2\nB,1,2\n", Options{MaxFeatures: 1}, geo.ETOOLARGE, []string{"more than 1 features"}},
		{"UTF-16", "\xff\xfen\x00a\x00", Options{}, geo.EINVALID, []string{"UTF-16", "CSV UTF-8"}},
		{"--encoding utf-8 on GBK", string(gbk(t, "名称,lon,lat\n东湖,1,2\n")), Options{Encoding: "utf-8"}, geo.EINVALID, []string{"x.csv: the text at line 1 is not valid UTF-8", "--encoding gb18030"}},
		{"BOM but not UTF-8", "\xef\xbb\xbfname,lon,lat\n\xb6\xab,1,2\n", Options{}, geo.EINVALID, []string{"line 2 is not valid UTF-8, which its byte-order mark says"}},
		{"empty", "", Options{}, geo.EINVALID, []string{"is empty"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := readAll(t, writeFile(t, "x.csv", []byte(tt.data)), tt.opts)
			checkErr(t, err, tt.code, tt.want...)
		})
	}
}

// TestCSVHugeRecord: an unclosed quote that swallows the rest of the file
// is refused once the record passes the limit, not read whole.
func TestCSVHugeRecord(t *testing.T) {
	data := "name,wkt\nA,\"POLYGON((" + strings.Repeat("1 1,", 400_000) // 1.6 MB in one field
	_, _, err := readAll(t, writeFile(t, "x.csv", []byte(data)), Options{MaxVertices: 1000})
	checkErr(t, err, geo.ETOOLARGE, "x.csv: line 2 is longer than 1.0 MB")
	data = "name,wkt\nA,\"POLYGON((" + strings.ReplaceAll(strings.Repeat("1 1,", 400_000), ",", ",\n")
	_, _, err = readAll(t, writeFile(t, "x.csv", []byte(data)), Options{MaxVertices: 1000})
	checkErr(t, err, geo.ETOOLARGE, "the record after line 1 is longer than 1.0 MB", "unclosed quote")
}

func TestFlattenWKT(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"POINT (1 2)", "POINT(1 2)"},
		{"point z (1 2 3)", "POINT(1 2)"},
		{"POLYGON ZM ((1 1 0 9, 1 2 0 9, 2 2 0 9, 1 1 0 9))", "POLYGON((1 1,1 2,2 2,1 1))"},
		{"MULTIPOLYGON (((1 1,1 2,2 2,1 1)),((5 5, 5 6, 6 6, 5 5)))", "MULTIPOLYGON(((1 1,1 2,2 2,1 1)),((5 5,5 6,6 6,5 5)))"},
		{"GEOMETRYCOLLECTION (POINT (1 2), LINESTRING (0 0, 1 1))", "GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))"},
		{"POLYGON EMPTY", "POLYGON EMPTY"},
		{"POINT(-1.5e2 +2)", "POINT(-1.5e2 +2)"},
	} {
		got, err := flattenWKT(tt.in, 100)
		if err != nil || got != tt.want {
			t.Errorf("%q: got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
