package importers

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

var srs4490 = []any{"China Geodetic Coordinate System 2000", 4490, "EPSG", 4490, prjCGCS2000}

func TestGeoPackage(t *testing.T) {
	dh := orb.Polygon{square(121.5, 29.8, 0.01), reversed(square(121.502, 29.802, 0.002))}
	xh := orb.MultiPolygon{{square(121.6, 29.8, 0.01)}, {square(121.7, 29.8, 0.01)}}
	communities := gpkgTableSpec{name: "社区", geomType: "MULTIPOLYGON", srsID: 4490, rows: [][]any{
		{gpkgBlob(t, dh, 4490, true, false), "东湖社区", "330212001001", 350},
		{gpkgBlob(t, xh, 4490, false, true), "西湖社区", "330212001002", nil},
	}}
	streets := gpkgTableSpec{name: "streets", geomType: "POLYGON", srsID: 4549, rows: [][]any{
		{gpkgBlob(t, orb.Polygon{square(640000, 3300000, 500)}, 4549, true, false), "中河街道", "330212001", 9000},
	}}
	roads := gpkgTableSpec{name: "roads", geomType: "LINESTRING", srsID: 4490, rows: [][]any{
		{gpkgBlob(t, orb.LineString{{121.5, 29.8}, {121.6, 29.9}}, 4490, false, false), "中山路", "R1", nil},
	}}
	gk := []any{"CGCS2000 GK CM 120E", 4549, "NONE", 4549, prjGK120E}

	one := writeGPKG(t, filepath.Join(t.TempDir(), "one.gpkg"), [][]any{srs4490}, communities, roads)
	info, fs, err := readAll(t, one, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := Info{Format: "gpkg", SRS: "EPSG:4490", Encoding: "UTF-8", Fields: []string{"fid", "名称", "编码", "户数"}, Layer: "社区"}
	if !reflect.DeepEqual(info, want) {
		t.Errorf("info %+v, want %+v", info, want)
	}
	if len(fs) != 2 {
		t.Fatalf("%d features", len(fs))
	}
	if !reflect.DeepEqual(fs[0].Geometry, dh) || !reflect.DeepEqual(fs[1].Geometry, xh) {
		t.Errorf("geometries %v, %v", fs[0].Geometry, fs[1].Geometry)
	}
	if fs[0].Props["名称"] != "东湖社区" || fs[0].Props["编码"] != "330212001001" || fs[0].Props["户数"] != int64(350) || fs[1].Props["户数"] != nil || fs[1].Props["fid"] != int64(2) {
		t.Errorf("attributes %v, %v", fs[0].Props, fs[1].Props)
	}

	// Two polygon tables: pick one, or be told which there are.
	two := writeGPKG(t, filepath.Join(t.TempDir(), "two.gpkg"), [][]any{srs4490, gk}, communities, streets, roads)
	_, _, err = readAll(t, two, Options{})
	checkErr(t, err, geo.EINVALID, "two.gpkg has 2 polygon tables: streets (polygon), 社区 (multipolygon)", "--table NAME")
	info, fs, err = readAll(t, two, Options{Table: "streets"})
	if err != nil || info.SRS != "EPSG:4549" || info.Layer != "streets" || len(fs) != 1 || fs[0].Props["名称"] != "中河街道" {
		t.Errorf("--table streets: %+v, %v, %v", info, fs, err)
	}
	// A line table read on purpose keeps its geometry type.
	_, fs, err = readAll(t, two, Options{Table: "roads"})
	if _, ok := fs[0].Geometry.(orb.LineString); err != nil || !ok {
		t.Errorf("--table roads: %v, %v", fs, err)
	}
	_, _, err = readAll(t, two, Options{Table: "nope"})
	checkErr(t, err, geo.EINVALID, `no feature table "nope"`, "roads (linestring)")
}

func TestGeoPackageErrors(t *testing.T) {
	z := make([]byte, 0, 128) // POLYGON Z, ISO WKB type 1003
	z = append(z, 1)
	z = binary.LittleEndian.AppendUint32(z, 1003)
	z = binary.LittleEndian.AppendUint32(z, 1)
	z = binary.LittleEndian.AppendUint32(z, 4)
	for _, p := range [][3]float64{{1, 1, 5}, {1, 2, 5}, {2, 2, 5}, {1, 1, 5}} {
		for _, v := range p {
			z = binary.LittleEndian.AppendUint64(z, math.Float64bits(v))
		}
	}
	blob := func(wkb []byte, flags byte) []byte {
		return append([]byte{'G', 'P', 0, flags, 0xAA, 0x11, 0, 0}, wkb...)
	}
	curve := append([]byte{1}, binary.LittleEndian.AppendUint32(nil, 10)...)
	curve = binary.LittleEndian.AppendUint32(curve, 0)
	for _, tt := range []struct {
		name string
		geom any
		srs  []any
		opts Options
		code string
		want []string
		ok   orb.Geometry
	}{
		{name: "polygon Z is read in 2D", geom: blob(z, 1), srs: srs4490, ok: orb.Polygon{{{1, 1}, {1, 2}, {2, 2}, {1, 1}}}},
		{name: "null geometry", geom: nil, srs: srs4490, code: geo.EINVALID, want: []string{"table 社区, feature 1 (fid 1) has no geometry"}},
		{name: "empty flag", geom: blob(nil, 1|gpkgFlagEmpty), srs: srs4490, code: geo.EINVALID, want: []string{"feature 1 (fid 1) has an empty geometry"}},
		{name: "curve", geom: blob(curve, 1), srs: srs4490, code: geo.EINVALID, want: []string{"is a CurvePolygon", "Segmentize"}},
		{name: "not GP", geom: []byte("XX\x00\x01abcdefgh"), srs: srs4490, code: geo.EINVALID, want: []string{`does not start with "GP"`}},
		{name: "truncated WKB", geom: blob(z[:40], 1), srs: srs4490, code: geo.EINVALID, want: []string{"has a damaged geometry", "cannot fit"}},
		{name: "vertex limit", geom: blob(z, 1), srs: srs4490, opts: Options{MaxVertices: 3}, code: geo.EINVALID, want: []string{"has 4 vertices, more than the limit of 3"}},
		{name: "NaN", geom: gpkgBlob(t, orb.Polygon{{{1, 1}, {math.NaN(), 2}, {2, 2}, {1, 1}}}, 4490, false, false), srs: srs4490, code: geo.EINVALID, want: []string{"feature 1 (fid 1) has a coordinate that is not a finite number (NaN, 2)"}},
		{name: "unknown SRS", geom: blob(z, 1), srs: []any{"Xian", 4490, "NONE", 4490, prjXian80}, code: geo.EINVALID, want: []string{"table 社区", `"Xian_1980_3_Degree_GK_CM_120E"`, "--srs"}},
		{name: "unknown SRS with --srs", geom: blob(z, 1), srs: []any{"Xian", 4490, "NONE", 4490, prjXian80}, opts: Options{SRS: "EPSG:2385"}, ok: orb.Polygon{{{1, 1}, {1, 2}, {2, 2}, {1, 1}}}},
		{name: "custom SRS by its WKT", geom: blob(z, 1), srs: []any{"gk", 4490, "NONE", 99, prjGK120E}, ok: orb.Polygon{{{1, 1}, {1, 2}, {2, 2}, {1, 1}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := writeGPKG(t, filepath.Join(t.TempDir(), "x.gpkg"), [][]any{tt.srs}, gpkgTableSpec{name: "社区", geomType: "POLYGON", srsID: 4490, rows: [][]any{{tt.geom, "东湖社区", "1", 1}}})
			_, fs, err := readAll(t, p, tt.opts)
			if tt.ok != nil {
				if err != nil || len(fs) != 1 || !reflect.DeepEqual(fs[0].Geometry, tt.ok) {
					t.Errorf("got %v, %v; want %v", fs, err, tt.ok)
				}
				return
			}
			checkErr(t, err, tt.code, tt.want...)
		})
	}
	_, _, err := readAll(t, writeFile(t, "fake.gpkg", []byte("not sqlite at all")), Options{})
	checkErr(t, err, geo.EINVALID, "not a GeoPackage (it is not an SQLite database)")
	empty := filepath.Join(t.TempDir(), "plain.gpkg")
	writeGPKG(t, empty, nil)
	_, _, err = readAll(t, empty, Options{})
	checkErr(t, err, geo.EINVALID, "has no feature tables")
}

func TestDecodeWKB(t *testing.T) {
	be := []byte{0, 0, 0, 0, 1} // big-endian POINT(1 2)
	be = binary.BigEndian.AppendUint64(be, math.Float64bits(1))
	be = binary.BigEndian.AppendUint64(be, math.Float64bits(2))
	ewkb := []byte{1} // EWKB POINT Z with SRID 4490
	ewkb = binary.LittleEndian.AppendUint32(ewkb, 0x80000001|0x20000000)
	ewkb = binary.LittleEndian.AppendUint32(ewkb, 4490)
	for _, v := range []float64{3, 4, 5} {
		ewkb = binary.LittleEndian.AppendUint64(ewkb, math.Float64bits(v))
	}
	huge := []byte{1, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F} // LINESTRING claiming 2³¹ points
	deep := []byte{}
	for range 40 {
		deep = append(deep, 1, 7, 0, 0, 0, 1, 0, 0, 0)
	}
	for _, tt := range []struct {
		name string
		wkb  []byte
		want orb.Geometry
		err  string
	}{
		{"big endian", be, orb.Point{1, 2}, ""},
		{"EWKB Z with SRID", ewkb, orb.Point{3, 4}, ""},
		{"hostile count", huge, nil, "more than the limit"},
		{"nested too deep", deep, nil, "nested more than"},
		{"bad byte order", []byte{7, 1, 0, 0, 0}, nil, "byte order"},
		{"empty", nil, nil, "ends early"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g, err := decodeWKB(tt.wkb, 1000)
			if tt.err == "" {
				if err != nil || !reflect.DeepEqual(g, tt.want) {
					t.Errorf("got %v, %v; want %v", g, err, tt.want)
				}
				return
			}
			if err == nil || !containsAll(err.Error(), tt.err) {
				t.Errorf("got %v, %v; want an error with %q", g, err, tt.err)
			}
		})
	}
}
