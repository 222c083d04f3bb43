package importers

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// The fuzz targets feed arbitrary bytes to each parser with small limits.
// A parser must never panic, hang or allocate beyond its limits, and every
// error it returns must be a one-line *geo.Error.

var fuzzOpts = Options{MaxVertices: 10_000, MaxFeatures: 1_000, MaxFileSize: 1 << 20}

// drain reads r to the end, checking what comes out.
func drain(t *testing.T, r Reader, err error) {
	t.Helper()
	if err != nil {
		checkFuzzErr(t, err)
		return
	}
	defer r.Close()
	for i := 0; i <= fuzzOpts.MaxFeatures+1; i++ {
		f, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if f.Geometry == nil {
			t.Fatalf("feature %d has no geometry and no error", i+1)
		}
		if msg := checkGeometry(f.Geometry, fuzzOpts.MaxVertices); msg != "" {
			t.Fatalf("feature %d passed although it %s", i+1, msg)
		}
	}
	t.Fatalf("more than %d features came out", fuzzOpts.MaxFeatures)
}

func checkFuzzErr(t *testing.T, err error) {
	t.Helper()
	var ge *geo.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %q (%T) is not a *geo.Error", err, err)
	}
	if strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("error is not one line: %q", err)
	}
}

func FuzzShapefile(f *testing.F) {
	for _, s := range []testShapefile{
		communities(nil, 0, "", ""),
		communities(func(s string) []byte { return gbk(f, s) }, 0x4D, "", ""),
		{shapeType: 1, geoms: []orb.Geometry{orb.Point{1, 2}, nil}, cols: []dbfCol{{"A", 'L', 1, 0}, {"D", 'D', 8, 0}}, rows: [][]string{{"T", "20240101"}, {"?", ""}}},
	} {
		p := s.bytes(f)
		f.Add(p["shp"], p["shx"], p["dbf"])
		f.Add(p["shp"][:len(p["shp"])-7], p["shx"], p["dbf"])
	}
	f.Fuzz(func(t *testing.T, shp, shx, dbf []byte) {
		s := shpSetFromBytes("f", map[string][]byte{"shp": shp, "shx": shx, "dbf": dbf})
		r, err := newShapefileReader(s, fuzzOpts)
		drain(t, r, err)
	})
}

func FuzzDBF(f *testing.F) {
	f.Add(communities(nil, 0, "", "").bytes(f)["dbf"], "")
	f.Add(communities(func(s string) []byte { return gbk(f, s) }, 0x4D, "", "").bytes(f)["dbf"], "936")
	f.Add(communities(nil, 0, "", "", "东湖社区居民委员会", "x").bytes(f)["dbf"], "UTF-8")
	f.Fuzz(func(t *testing.T, b []byte, cpg string) {
		tb, err := readDBFHeader(bytes.NewReader(b), int64(len(b)), "f.dbf")
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if int64(tb.records)*int64(tb.recordSize) > int64(len(b)) {
			t.Fatalf("header accepted: %d records of %d bytes in a %d-byte file", tb.records, tb.recordSize, len(b))
		}
		decl, err := encodingHint{cpg: cpg, ldid: tb.ldid}.declare()
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		sniff := newTextSniffer(decl.cs, func(n int, field string) string { return "here" })
		br := bytes.NewReader(b[tb.headerSize:])
		if err := tb.scanText(br, sniff.add); err != nil {
			checkFuzzErr(t, err)
			return
		}
		cs, err := chooseCharset("f.dbf", decl, sniff)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		dec := cs.decoder()
		tb.nameFields(dec)
		rd := tb.reader(bytes.NewReader(b[tb.headerSize:]), dec)
		for range tb.records {
			if _, _, err := rd.next(); err != nil {
				// The encoding was checked on every value: decoding
				// cannot fail after that.
				t.Fatalf("record %d after the encoding was settled: %v", rd.n, err)
			}
		}
	})
}

func FuzzGPKGGeometry(f *testing.F) {
	for _, g := range []orb.Geometry{
		orb.Polygon{square(1, 1, 1)},
		orb.MultiPolygon{{square(1, 1, 1)}, {square(3, 3, 1), reversed(square(3.2, 3.2, 0.1))}},
		orb.Point{1, 2},
		orb.Collection{orb.Point{1, 2}, orb.LineString{{0, 0}, {1, 1}}},
	} {
		f.Add(gpkgBlob(f, g, 4490, true, false))
		f.Add(gpkgBlob(f, g, 4490, false, true))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := decodeGPKGGeometry(b, 1000)
		if err != nil {
			return
		}
		n := 0
		orbVertices(g, &n)
		if n > 1000 {
			t.Fatalf("%d vertices decoded past the limit of 1000", n)
		}
	})
}

// orbVertices counts the vertices of g.
func orbVertices(g orb.Geometry, n *int) {
	switch g := g.(type) {
	case orb.Point:
		*n++
	case orb.MultiPoint:
		*n += len(g)
	case orb.LineString:
		*n += len(g)
	case orb.Ring:
		*n += len(g)
	case orb.MultiLineString:
		for _, l := range g {
			*n += len(l)
		}
	case orb.Polygon:
		for _, r := range g {
			*n += len(r)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			orbVertices(p, n)
		}
	case orb.Collection:
		for _, c := range g {
			orbVertices(c, n)
		}
	}
}

func FuzzKML(f *testing.F) {
	f.Add([]byte(kmlDoc))
	f.Add(gbk(f, strings.Replace(kmlDoc, `encoding="UTF-8"`, `encoding="GBK"`, 1)))
	f.Add([]byte(`<kml><Placemark><MultiGeometry><Point><coordinates>1,2</coordinates></Point><LineString><coordinates>1,2 3,4</coordinates></LineString></MultiGeometry></Placemark></kml>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := newKMLReader(bytes.NewReader(b), "f.kml", "kml", fuzzOpts)
		if err != nil {
			drain(t, nil, err)
			return
		}
		drain(t, r, nil)
	})
}

func FuzzCSV(f *testing.F) {
	f.Add([]byte(csvWKT))
	f.Add(gbk(f, csvWKT))
	f.Add([]byte("\xef\xbb\xbf名称,经度,纬度\n服务站,121.55,29.85\n"))
	f.Add([]byte("name;wkt\nA;SRID=4490;POINT Z(1 2 3)\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := newCSVReader(bytes.NewReader(b), "f.csv", fuzzOpts)
		if err != nil {
			drain(t, nil, err)
			return
		}
		drain(t, r, nil)
	})
}

var epsgRE = regexp.MustCompile(`^EPSG:[1-9][0-9]*$`)

func FuzzSRSFromWKT(f *testing.F) {
	for _, s := range []string{prjCGCS2000, prjGK120E, prjGKZone40, prjXian80, esriGK("x", 117, 20500000),
		`PROJCRS["x",BASEGEOGCRS["CGCS2000",DATUM["China 2000"]],CONVERSION["x",METHOD["Transverse Mercator"],PARAMETER["False easting",500000]],ID["EPSG",4547]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := SRSFromWKT(s)
		if err != nil {
			checkFuzzErr(t, err)
			return
		}
		if !epsgRE.MatchString(got) {
			t.Fatalf("SRSFromWKT gave %q", got)
		}
	})
}

func FuzzWKT(f *testing.F) {
	for _, s := range []string{"POINT(1 2)", "SRID=4490;POLYGON Z ((1 1 5, 1 2 5, 2 2 5, 1 1 5))", "MULTIPOLYGON(((1 1,1 2,2 2,1 1)),((5 5,5 6,6 6,5 5)))",
		"GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1))", "POLYGON EMPTY"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, _, err := parseWKT(s, 1000)
		if err != nil {
			return
		}
		n := 0
		orbVertices(g, &n)
		if n > 1000 {
			t.Fatalf("%d vertices past the limit of 1000", n)
		}
	})
}

func FuzzZip(f *testing.F) {
	dir := f.TempDir()
	shpZip, _ := os.ReadFile(writeZip(f, filepath.Join(dir, "a.zip"), shapefileEntries(f, communities(nil, 0, "", ""), "社区")...))
	kmz, _ := os.ReadFile(writeZip(f, filepath.Join(dir, "a.kmz"), zipEntry{name: "doc.kml", data: []byte(kmlDoc)}))
	f.Add(shpZip)
	f.Add(kmz)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, kind := range []string{"zip", "kmz"} {
			z, err := newZipArchive(bytes.NewReader(b), int64(len(b)), "f."+kind, fuzzOpts)
			if err != nil {
				checkFuzzErr(t, err)
				continue
			}
			var r Reader
			if kind == "zip" {
				r, err = zipShapefile(z, fuzzOpts)
			} else {
				r, err = kmzReader(z, fuzzOpts)
			}
			drain(t, r, err)
		}
	})
}
