package importers

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// communities is a two-feature layer: 东湖社区 is a square with a hole,
// 西湖社区 two squares (a MultiPolygon).
func communities(enc func(string) []byte, ldid byte, cpg, prj string, names ...string) testShapefile {
	if len(names) == 0 {
		names = []string{"东湖社区", "西湖社区"}
	}
	return testShapefile{
		geoms: []orb.Geometry{
			orb.Polygon{square(121.5, 29.8, 0.01), reversed(square(121.502, 29.802, 0.002))},
			orb.MultiPolygon{{square(121.6, 29.8, 0.01)}, {square(121.7, 29.8, 0.01)}},
		},
		cols: []dbfCol{{"编码", 'C', 12, 0}, {"名称", 'C', 40, 0}, {"户数", 'N', 8, 0}, {"面积", 'N', 12, 3}},
		rows: [][]string{{"330212001001", names[0], "350", "1.25"}, {"330212001002", names[1], "", "2.5"}},
		enc:  enc, ldid: ldid, cpg: cpg, prj: prj,
	}
}

func TestShapefileEncodingAndSRS(t *testing.T) {
	gbkEnc := func(s string) []byte { return gbk(t, s) }
	gk := func(s testShapefile, x0 float64) testShapefile {
		s.geoms = []orb.Geometry{orb.Polygon{square(x0, 3300000, 500)}, orb.Polygon{square(x0+500, 3300000, 500)}}
		return s
	}
	for _, tt := range []struct {
		name     string
		shp      testShapefile
		opts     Options
		encoding string
		srs      string
		names    []string
		first    orb.Point
	}{
		{"GBK by language driver 0x4D", communities(gbkEnc, 0x4D, "", prjCGCS2000), Options{}, "GBK", "EPSG:4490",
			[]string{"东湖社区", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"GBK by .cpg 936", communities(gbkEnc, 0, "936\r\n", prjCGCS2000), Options{}, "GBK", "EPSG:4490",
			[]string{"东湖社区", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"GBK by .cpg CP936 over a wrong driver byte", communities(gbkEnc, 0x03, "CP936", ""), Options{}, "GBK", "",
			[]string{"东湖社区", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"GBK detected, no hints", communities(gbkEnc, 0, "", ""), Options{}, "GB18030", "",
			[]string{"东湖社区", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"GBK detected under system-ANSI driver 0x57", communities(gbkEnc, 0x57, "", ""), Options{}, "GB18030", "",
			[]string{"东湖社区", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"GBK detected over a Western driver byte", communities(gbkEnc, 0x03, "", ""), Options{}, "GB18030", "",
			[]string{"东湖社区", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"GB18030-only character, detected", communities(gbkEnc, 0, "", "", "㙟塘村", "西湖社区"), Options{}, "GB18030", "",
			[]string{"㙟塘村", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"GB18030-only character under a GBK .cpg", communities(gbkEnc, 0x4D, "GBK", "", "㙟塘村", "西湖社区"), Options{}, "GB18030", "",
			[]string{"㙟塘村", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"UTF-8 by .cpg, Gauss-Krüger CM 120E", gk(communities(nil, 0, "UTF-8", prjGK120E), 640000), Options{}, "UTF-8", "EPSG:4549",
			[]string{"东湖社区", "西湖社区"}, orb.Point{640000, 3300000}},
		{"UTF-8 detected, zone-40 Gauss-Krüger", gk(communities(nil, 0, "", prjGKZone40), 40640000), Options{}, "UTF-8", "EPSG:4528",
			[]string{"东湖社区", "西湖社区"}, orb.Point{40640000, 3300000}},
		{"UTF-8 under a stale GBK driver byte", communities(nil, 0x4D, "", ""), Options{}, "UTF-8", "",
			[]string{"东湖社区", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"--encoding gbk over a wrong .cpg", communities(gbkEnc, 0, "UTF-8", ""), Options{Encoding: "gbk"}, "GBK", "",
			[]string{"东湖社区", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"--srs over an unknown .prj", communities(nil, 0, "", prjXian80), Options{SRS: "EPSG:2385"}, "UTF-8", "",
			[]string{"东湖社区", "西湖社区"}, orb.Point{121.5, 29.8}},
		{"ASCII only", communities(nil, 0, "", "", "Donghu", "Xihu"), Options{}, "UTF-8", "",
			[]string{"Donghu", "Xihu"}, orb.Point{121.5, 29.8}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.shp.write(t, t.TempDir(), "社区")
			info, fs, err := readAll(t, path, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if info.Encoding != tt.encoding || info.SRS != tt.srs || info.Format != "shapefile" || info.Layer != "社区" {
				t.Errorf("info %+v, want encoding %s, SRS %q", info, tt.encoding, tt.srs)
			}
			if want := []string{"编码", "名称", "户数", "面积"}; !reflect.DeepEqual(info.Fields, want) {
				t.Errorf("fields %q, want %q", info.Fields, want)
			}
			if len(fs) != 2 {
				t.Fatalf("%d features, want 2", len(fs))
			}
			for i, f := range fs {
				if f.Props["名称"] != tt.names[i] {
					t.Errorf("feature %d: name %q, want %q", i+1, f.Props["名称"], tt.names[i])
				}
			}
			if fs[0].Props["编码"] != "330212001001" || fs[0].Props["户数"] != int64(350) || fs[0].Props["面积"] != 1.25 || fs[1].Props["户数"] != nil {
				t.Errorf("attributes %v, %v", fs[0].Props, fs[1].Props)
			}
			p, ok := fs[0].Geometry.(orb.Polygon)
			if !ok || p[0][0] != tt.first {
				t.Errorf("first geometry %v, want a polygon starting at %v", fs[0].Geometry, tt.first)
			}
		})
	}
}

func TestShapefileGeometry(t *testing.T) {
	path := communities(nil, 0, "", "").write(t, t.TempDir(), "c")
	_, fs, err := readAll(t, path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := fs[0].Geometry.(orb.Polygon)
	if len(p) != 2 || !reflect.DeepEqual(p[1], reversed(square(121.502, 29.802, 0.002))) {
		t.Errorf("東湖 %v: want a square with its hole", p)
	}
	mp, ok := fs[1].Geometry.(orb.MultiPolygon)
	if !ok || len(mp) != 2 || mp[1][0][0] != (orb.Point{121.7, 29.8}) {
		t.Errorf("西湖 %v: want a MultiPolygon of two squares", fs[1].Geometry)
	}

	// Holes go to the outer ring that contains them, wherever they are
	// listed; an open ring is closed; points stay points.
	s := testShapefile{
		geoms: []orb.Geometry{orb.MultiPolygon{
			{square(0, 0, 10)}, {square(20, 0, 10)}, {reversed(square(22, 2, 1))}, {reversed(square(2, 2, 1))},
			{orb.Ring{{40, 0}, {40, 1}, {41, 1}, {41, 0}}},
		}},
		cols: []dbfCol{{"ID", 'N', 4, 0}},
		rows: [][]string{{"1"}},
	}
	_, fs, err = readAll(t, s.write(t, t.TempDir(), "holes"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mp = fs[0].Geometry.(orb.MultiPolygon)
	if len(mp) != 3 || len(mp[0]) != 2 || mp[0][1][0] != (orb.Point{2, 2}) || len(mp[1]) != 2 || mp[1][1][0] != (orb.Point{22, 2}) {
		t.Errorf("holes assigned wrongly: %v", mp)
	}
	if r := mp[2][0]; len(r) != 5 || r[0] != r[4] {
		t.Errorf("open ring not closed: %v", r)
	}
	pts := testShapefile{shapeType: 1, geoms: []orb.Geometry{orb.Point{121.5, 29.8}}, cols: []dbfCol{{"ID", 'N', 4, 0}}, rows: [][]string{{"7"}}}
	_, fs, err = readAll(t, pts.write(t, t.TempDir(), "pts"), Options{})
	if err != nil || len(fs) != 1 || fs[0].Geometry != (orb.Point{121.5, 29.8}) || fs[0].Props["ID"] != int64(7) {
		t.Errorf("point layer: %v, %v", fs, err)
	}

	// A record marked deleted in the .dbf is skipped, as GDAL does.
	del := communities(nil, 0, "", "")
	del.deleted = map[int]bool{0: true}
	_, fs, err = readAll(t, del.write(t, t.TempDir(), "del"), Options{})
	if err != nil || len(fs) != 1 || fs[0].Props["名称"] != "西湖社区" {
		t.Errorf("deleted record: %v, %v", fs, err)
	}
}

func TestShapefileTruncatedUTF8Value(t *testing.T) {
	// GDAL cuts a value to the field width in bytes, splitting the last
	// character of a UTF-8 name: the rest of the name survives.
	s := communities(nil, 0, "UTF-8", "", "东湖社区居民委员会", "西湖")
	s.cols[1].length = 13 // 4 characters and one byte of the fifth
	_, fs, err := readAll(t, s.write(t, t.TempDir(), "cut"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if fs[0].Props["名称"] != "东湖社区" {
		t.Errorf("name %q, want 东湖社区", fs[0].Props["名称"])
	}
}

func TestShapefileErrors(t *testing.T) {
	gbkEnc := func(s string) []byte { return gbk(t, s) }
	for _, tt := range []struct {
		name   string
		shp    testShapefile
		opts   Options
		mangle func(t *testing.T, shp string) // breaks the written files
		code   string
		want   []string
	}{
		{name: "missing .shx", shp: communities(nil, 0, "", ""),
			mangle: func(t *testing.T, shp string) { remove(t, strings.TrimSuffix(shp, ".shp")+".shx") },
			code:   geo.EINVALID, want: []string{"社区.shp", ".shx file of the same name is missing", "found only .shp, .dbf"}},
		{name: "missing .dbf", shp: communities(nil, 0, "", ""),
			mangle: func(t *testing.T, shp string) { remove(t, strings.TrimSuffix(shp, ".shp")+".dbf") },
			code:   geo.EINVALID, want: []string{".dbf file of the same name is missing"}},
		{name: "truncated .shp", shp: communities(nil, 0, "", ""),
			mangle: func(t *testing.T, shp string) { cut(t, shp, 40) },
			code:   geo.EINVALID, want: []string{"社区.shp: record 2 of 2", "truncated"}},
		{name: ".dbf with fewer records", shp: func() testShapefile { s := communities(nil, 0, "", ""); s.dbfRows = 1; return s }(),
			code: geo.EINVALID, want: []string{"社区.dbf has 1 records but", "has 2 shapes"}},
		{name: ".dbf cut short", shp: communities(nil, 0, "", ""),
			mangle: func(t *testing.T, shp string) { cut(t, strings.TrimSuffix(shp, ".shp")+".dbf", 30) },
			code:   geo.EINVALID, want: []string{"社区.dbf is truncated", "says 2 records", "holds 1"}},
		{name: "NaN coordinate", shp: func() testShapefile {
			s := communities(nil, 0, "", "")
			s.geoms[1] = orb.Polygon{{{1, 1}, {1, math.NaN()}, {2, 2}, {1, 1}}}
			return s
		}(), code: geo.EINVALID, want: []string{"record 2 of 2 has a coordinate that is not a finite number (1, NaN)"}},
		{name: "infinite coordinate", shp: func() testShapefile {
			s := communities(nil, 0, "", "")
			s.geoms[0] = orb.Polygon{{{1, 1}, {math.Inf(1), 2}, {2, 2}, {1, 1}}}
			return s
		}(), code: geo.EINVALID, want: []string{"record 1 of 2 has a coordinate that is not a finite number (+Inf, 2)"}},
		{name: "null shape", shp: func() testShapefile { s := communities(nil, 0, "", ""); s.geoms[1] = nil; return s }(),
			code: geo.EINVALID, want: []string{"record 2 of 2 has no geometry"}},
		{name: "vertex limit", shp: communities(nil, 0, "", ""), opts: Options{MaxVertices: 6},
			code: geo.EINVALID, want: []string{"record 1 of 2 has 10 vertices, more than the limit of 6"}},
		{name: "feature limit", shp: communities(nil, 0, "", ""), opts: Options{MaxFeatures: 1},
			code: geo.ETOOLARGE, want: []string{"has 2 features, more than the limit of 1"}},
		{name: "unknown .prj", shp: communities(nil, 0, "", prjXian80),
			code: geo.EINVALID, want: []string{"社区.prj", `"Xian_1980_3_Degree_GK_CM_120E"`, "--srs EPSG:nnnn"}},
		{name: ".cpg says UTF-8, text is GBK", shp: communities(gbkEnc, 0, "UTF-8", ""),
			code: geo.EINVALID, want: []string{"社区.dbf: the text at", "is not valid UTF-8", ".cpg file", "--encoding gb18030"}},
		{name: "--encoding utf-8 on GBK text", shp: communities(gbkEnc, 0, "", ""), opts: Options{Encoding: "utf-8"},
			code: geo.EINVALID, want: []string{"is not valid UTF-8, which --encoding says", "--encoding gb18030"}},
		{name: "--encoding gbk on UTF-8 text with a lone byte", shp: func() testShapefile {
			s := communities(nil, 0, "", "", "东湖\xff", "西湖")
			return s
		}(), opts: Options{Encoding: "gbk"}, code: geo.EINVALID, want: []string{"record 1, field 名称", "not valid GBK"}},
		{name: "neither UTF-8 nor GB18030", shp: communities(nil, 0, "", "", "\xff\xfe\xff", "x"),
			code: geo.EINVALID, want: []string{"neither UTF-8", "nor GB18030", "--encoding"}},
		{name: "unknown --encoding", shp: communities(nil, 0, "", ""), opts: Options{Encoding: "klingon"},
			code: geo.EINVALID, want: []string{`unknown encoding "klingon"`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.shp.write(t, t.TempDir(), "社区")
			if tt.mangle != nil {
				tt.mangle(t, path)
			}
			_, _, err := readAll(t, path, tt.opts)
			checkErr(t, err, tt.code, tt.want...)
		})
	}
}

// TestShapefileHugeRecord: a record claiming ten million vertices is
// refused from its header, before anything is allocated for it. The .shp
// is made as long as the record claims with a sparse hole, so that the
// only thing wrong with it is its size.
func TestShapefileHugeRecord(t *testing.T) {
	s := testShapefile{geoms: []orb.Geometry{orb.Polygon{square(0, 0, 1)}}, cols: []dbfCol{{"ID", 'N', 4, 0}}, rows: [][]string{{"1"}}}
	parts := s.bytes(t)
	const n = 10_000_000
	shp := parts["shp"]
	content := 44 + 4 + 16*n
	// Record header: content length in 16-bit words; then numPoints.
	be := func(b []byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v) }
	be(shp[104:], uint32(content/2))
	le := func(b []byte, v uint32) { b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24) }
	le(shp[108+40:], n)
	be(parts["shx"][104:], uint32(content/2))
	dir := t.TempDir()
	for ext, b := range parts {
		if err := os.WriteFile(filepath.Join(dir, "big."+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Truncate(filepath.Join(dir, "big.shp"), int64(108+content)); err != nil {
		t.Fatal(err)
	}
	_, _, err := readAll(t, filepath.Join(dir, "big.shp"), Options{})
	checkErr(t, err, geo.EINVALID, "record 1 of 1 has 10000000 vertices, more than the limit of 1000000")
}

func TestShapefileFolderAndCase(t *testing.T) {
	dir := t.TempDir()
	communities(nil, 0, "UTF-8", prjCGCS2000).write(t, dir, "网格")
	for _, ext := range []string{"shp", "dbf", "prj"} { // FOO.SHP beside foo.shx
		if err := os.Rename(filepath.Join(dir, "网格."+ext), filepath.Join(dir, "网格."+strings.ToUpper(ext))); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{dir, filepath.Join(dir, "网格.SHP")} {
		info, fs, err := readAll(t, p, Options{})
		if err != nil || len(fs) != 2 || info.SRS != "EPSG:4490" || info.Layer != "网格" {
			t.Errorf("%s: %+v, %d features, %v", p, info, len(fs), err)
		}
	}
	communities(nil, 0, "", "").write(t, dir, "other")
	_, _, err := readAll(t, dir, Options{})
	checkErr(t, err, geo.EINVALID, "holds 2 shapefiles (other, 网格)", "--table")
	info, _, err := readAll(t, dir, Options{Table: "网格"})
	if err != nil || info.Layer != "网格" {
		t.Errorf("--table 网格: %+v, %v", info, err)
	}
	_, _, err = readAll(t, dir, Options{Table: "nope"})
	checkErr(t, err, geo.EINVALID, `no shapefile "nope"`, "other, 网格")
}

func TestShapefileZip(t *testing.T) {
	gbkEnc := func(s string) []byte { return gbk(t, s) }
	dir := t.TempDir()
	one := writeZip(t, filepath.Join(dir, "one.zip"), append(shapefileEntries(t, communities(gbkEnc, 0x4D, "", prjGK120E), "layers/社区"),
		zipEntry{name: "__MACOSX/layers/._社区.shp", data: []byte("junk")}, zipEntry{name: "readme.txt", data: []byte("hi")})...)
	info, fs, err := readAll(t, one, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Encoding != "GBK" || info.SRS != "EPSG:4549" || info.Layer != "社区" || len(fs) != 2 || fs[1].Props["名称"] != "西湖社区" {
		t.Errorf("zip: %+v, %v", info, fs)
	}

	// Entry names in GBK, as zip tools on Chinese Windows write them.
	var gbkEntries []zipEntry
	for _, e := range shapefileEntries(t, communities(nil, 0, "", ""), "社区") {
		gbkEntries = append(gbkEntries, zipEntry{name: string(gbk(t, e.name)), data: e.data})
	}
	two := writeZip(t, filepath.Join(dir, "two.zip"), append(gbkEntries, shapefileEntries(t, communities(nil, 0, "", ""), "grids")...)...)
	_, _, err = readAll(t, two, Options{})
	checkErr(t, err, geo.EINVALID, "two.zip holds 2 shapefiles (grids, 社区)", "--table NAME")
	info, fs, err = readAll(t, two, Options{Table: "社区"})
	if err != nil || info.Layer != "社区" || len(fs) != 2 {
		t.Errorf("--table 社区: %+v, %v", info, err)
	}

	for _, tt := range []struct {
		name    string
		entries []zipEntry
		opts    Options
		code    string
		want    []string
	}{
		{"path traversal", append(shapefileEntries(t, communities(nil, 0, "", ""), "a"), zipEntry{name: "../../etc/cron.d/x", data: []byte("x")}),
			Options{}, geo.EINVALID, []string{`entry named "../../etc/cron.d/x"`, "climbs out of the archive"}},
		{"absolute path", []zipEntry{{name: "/tmp/a.shp", data: []byte("x")}}, Options{}, geo.EINVALID, []string{"an absolute path"}},
		{"windows traversal", []zipEntry{{name: `a\..\..\b.shp`, data: []byte("x")}}, Options{}, geo.EINVALID, []string{"climbs out"}},
		{"zip bomb", bomb(t, shapefileEntries(t, communities(nil, 0, "", ""), "a")), Options{}, geo.ETOOLARGE, []string{"a.shp would expand", "zip bomb"}},
		{"over the size limit", shapefileEntries(t, communities(nil, 0, "", ""), "a"), Options{MaxFileSize: 1000}, geo.ETOOLARGE, []string{"would expand to 1.2 KB", "more than the limit of 1000 B"}},
		{"no shapefile", []zipEntry{{name: "a.txt", data: []byte("x")}}, Options{}, geo.EINVALID, []string{"holds no shapefile"}},
		{"missing .shx in zip", func() []zipEntry {
			e := shapefileEntries(t, communities(nil, 0, "", ""), "a")
			return append(e[:1], e[2:]...)
		}(), Options{}, geo.EINVALID, []string{"bad.zip: a.shp", ".shx file of the same name is missing"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := writeZip(t, filepath.Join(t.TempDir(), "bad.zip"), tt.entries...)
			_, _, err := readAll(t, p, tt.opts)
			checkErr(t, err, tt.code, tt.want...)
		})
	}
	_, _, err = readAll(t, writeFile(t, "not.zip", []byte("PK\x03\x04 not really")), Options{})
	checkErr(t, err, geo.EINVALID, "not a readable zip file")
}

// bomb replaces the .shp of entries by 300 MB of zeros, deflated to a few
// hundred kilobytes. The entry is written raw, so the test spends no time
// compressing: it deflates 1 MB once and repeats the compressed block.
func bomb(t *testing.T, entries []zipEntry) []zipEntry {
	t.Helper()
	var buf bytes.Buffer
	fw, _ := flate.NewWriter(&buf, flate.BestCompression)
	fw.Write(make([]byte, 1<<20))
	fw.Flush()
	block := append([]byte(nil), buf.Bytes()...)
	var data []byte
	for range 300 {
		data = append(data, block...)
	}
	data = append(data, 3, 0) // an empty final block
	for i, e := range entries {
		if strings.HasSuffix(e.name, ".shp") {
			entries[i] = zipEntry{name: e.name, data: data, raw: &zip.FileHeader{
				Name: e.name, Method: zip.Deflate, CompressedSize64: uint64(len(data)), UncompressedSize64: 300 << 20,
			}}
		}
	}
	return entries
}

func remove(t *testing.T, p string) {
	t.Helper()
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
}

// cut removes the last n bytes of the file at p.
func cut(t *testing.T, p string, n int64) {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, st.Size()-n); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
