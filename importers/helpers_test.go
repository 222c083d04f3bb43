package importers

import (
	"archive/zip"
	"bytes"
	"database/sql"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// ESRI .prj texts as ArcGIS writes them.
const (
	prjCGCS2000 = `GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`
	prjGK120E   = `PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`
	prjGKZone40 = `PROJCS["CGCS2000_3_Degree_GK_Zone_40",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",40500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`
	prjXian80   = `PROJCS["Xian_1980_3_Degree_GK_CM_120E",GEOGCS["GCS_Xian_1980",DATUM["D_Xian_1980",SPHEROID["Xian_1980",6378140.0,298.257]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]`
)

// gbk encodes s as GBK/GB18030 (the same bytes for every character GBK
// has; GB18030's four-byte sequences for the rest).
func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode %q: %v", s, err)
	}
	return b
}

// square is a closed ring around (x, y) of side d, clockwise as a
// shapefile outer ring must be.
func square(x, y, d float64) orb.Ring {
	return orb.Ring{{x, y}, {x, y + d}, {x + d, y + d}, {x + d, y}, {x, y}}
}

// reversed returns r the other way round (a shapefile hole).
func reversed(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		out[len(r)-1-i] = p
	}
	return out
}

// dbfCol is a column of a test DBF.
type dbfCol struct {
	name     string
	typ      byte
	length   int
	decimals int
}

// testShapefile describes a shapefile to write. Text (field names and C
// values) is encoded with enc; nil means UTF-8.
type testShapefile struct {
	shapeType uint32
	geoms     []orb.Geometry // nil for a null shape
	cols      []dbfCol
	rows      [][]string // already-formatted values
	enc       func(string) []byte
	ldid      byte
	cpg, prj  string
	dbfRows   int // records written to the .dbf (default len(rows))
	deleted   map[int]bool
}

// write puts base.shp, .shx, .dbf and the optional .cpg and .prj in dir
// and returns the path of the .shp.
func (s testShapefile) write(t testing.TB, dir, base string) string {
	t.Helper()
	parts := s.bytes(t)
	for ext, b := range parts {
		if err := os.WriteFile(filepath.Join(dir, base+"."+ext), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, base+".shp")
}

// bytes renders the shapefile's parts, by extension.
func (s testShapefile) bytes(t testing.TB) map[string][]byte {
	t.Helper()
	enc := s.enc
	if enc == nil {
		enc = func(v string) []byte { return []byte(v) }
	}
	st := s.shapeType
	if st == 0 {
		st = 5
	}
	var shp, shx bytes.Buffer
	header := func(w *bytes.Buffer, words int) {
		h := make([]byte, 100)
		binary.BigEndian.PutUint32(h[0:], 9994)
		binary.BigEndian.PutUint32(h[24:], uint32(words))
		binary.LittleEndian.PutUint32(h[28:], 1000)
		binary.LittleEndian.PutUint32(h[32:], st)
		w.Write(h)
	}
	var records [][]byte
	for _, g := range s.geoms {
		records = append(records, shpRecord(g, st))
	}
	shpLen := 100
	for _, r := range records {
		shpLen += 8 + len(r)
	}
	header(&shp, shpLen/2)
	header(&shx, (100+8*len(records))/2)
	for i, r := range records {
		var h [8]byte
		binary.BigEndian.PutUint32(h[0:], uint32(i+1))
		binary.BigEndian.PutUint32(h[4:], uint32(len(r)/2))
		var ix [8]byte
		binary.BigEndian.PutUint32(ix[0:], uint32(shp.Len()/2))
		binary.BigEndian.PutUint32(ix[4:], uint32(len(r)/2))
		shx.Write(ix[:])
		shp.Write(h[:])
		shp.Write(r)
	}

	n := len(s.rows)
	if s.dbfRows > 0 || s.dbfRows == -1 {
		n = max(s.dbfRows, 0)
	}
	var dbf bytes.Buffer
	recSize := 1
	for _, c := range s.cols {
		recSize += c.length
	}
	h := make([]byte, 32)
	h[0] = 0x03
	h[1], h[2], h[3] = 124, 6, 1
	binary.LittleEndian.PutUint32(h[4:], uint32(n))
	binary.LittleEndian.PutUint16(h[8:], uint16(32+32*len(s.cols)+1))
	binary.LittleEndian.PutUint16(h[10:], uint16(recSize))
	h[29] = s.ldid
	dbf.Write(h)
	for _, c := range s.cols {
		d := make([]byte, 32)
		name := enc(c.name)
		if len(name) > 11 {
			name = name[:11]
		}
		copy(d, name)
		d[11] = c.typ
		d[16] = byte(c.length)
		d[17] = byte(c.decimals)
		dbf.Write(d)
	}
	dbf.WriteByte(0x0D)
	for i := 0; i < n && i < len(s.rows); i++ {
		if s.deleted[i] {
			dbf.WriteByte('*')
		} else {
			dbf.WriteByte(' ')
		}
		for j, c := range s.cols {
			var v []byte
			if c.typ == 'C' {
				v = enc(s.rows[i][j])
			} else {
				v = []byte(s.rows[i][j])
			}
			if len(v) > c.length {
				v = v[:c.length]
			}
			pad := bytes.Repeat([]byte(" "), c.length-len(v))
			if c.typ == 'N' || c.typ == 'F' {
				dbf.Write(pad)
				dbf.Write(v)
			} else {
				dbf.Write(v)
				dbf.Write(pad)
			}
		}
	}
	dbf.WriteByte(0x1A)

	out := map[string][]byte{"shp": shp.Bytes(), "shx": shx.Bytes(), "dbf": dbf.Bytes()}
	if s.cpg != "" {
		out["cpg"] = []byte(s.cpg)
	}
	if s.prj != "" {
		out["prj"] = []byte(s.prj)
	}
	return out
}

// shpRecord renders one record's content (without its 8-byte header).
func shpRecord(g orb.Geometry, st uint32) []byte {
	var b bytes.Buffer
	put := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	switch g := g.(type) {
	case nil:
		put(uint32(0))
	case orb.Point:
		put(uint32(1))
		put(g[0])
		put(g[1])
	case orb.Polygon, orb.MultiPolygon:
		var rings []orb.Ring
		polys, ok := g.(orb.MultiPolygon)
		if !ok {
			polys = orb.MultiPolygon{g.(orb.Polygon)}
		}
		for _, p := range polys {
			rings = append(rings, p...)
		}
		put(st)
		bd := g.Bound()
		put(bd.Min[0])
		put(bd.Min[1])
		put(bd.Max[0])
		put(bd.Max[1])
		total := 0
		for _, r := range rings {
			total += len(r)
		}
		put(uint32(len(rings)))
		put(uint32(total))
		at := 0
		for _, r := range rings {
			put(uint32(at))
			at += len(r)
		}
		for _, r := range rings {
			for _, p := range r {
				put(p[0])
				put(p[1])
			}
		}
	}
	return b.Bytes()
}

// zipEntry is one file of a test zip; raw, when set, writes a stored
// header claiming size bytes while holding data (for lying archives).
type zipEntry struct {
	name string
	data []byte
	raw  *zip.FileHeader
}

// writeZip writes the entries to path in order.
func writeZip(t testing.TB, path string, entries ...zipEntry) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		var w io.Writer
		var err error
		if e.raw != nil {
			w, err = zw.CreateRaw(e.raw)
		} else {
			w, err = zw.CreateHeader(&zip.FileHeader{Name: e.name, Method: zip.Deflate})
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// shapefileEntries turns a shapefile's parts into zip entries under dir/base.
func shapefileEntries(t testing.TB, s testShapefile, prefix string) []zipEntry {
	t.Helper()
	var out []zipEntry
	for _, ext := range shpExts {
		if b, ok := s.bytes(t)[ext]; ok {
			out = append(out, zipEntry{name: prefix + "." + ext, data: b})
		}
	}
	return out
}

// gpkgBlob wraps WKB in a GeoPackage geometry header, with an XY envelope
// when envelope is set, in the given byte order for the header.
func gpkgBlob(t testing.TB, g orb.Geometry, srsID int32, envelope, bigEndian bool) []byte {
	t.Helper()
	w, err := wkb.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var order binary.AppendByteOrder = binary.LittleEndian
	flags := byte(1)
	if bigEndian {
		order, flags = binary.BigEndian, 0
	}
	b := []byte{'G', 'P', 0, 0}
	b = order.AppendUint32(b[:4], uint32(srsID))
	if envelope {
		flags |= 1 << 1
		bd := g.Bound()
		for _, v := range []float64{bd.Min[0], bd.Max[0], bd.Min[1], bd.Max[1]} {
			b = order.AppendUint64(b, math.Float64bits(v))
		}
	}
	b[3] = flags
	return append(b, w...)
}

// gpkgTableSpec is a feature table of a test GeoPackage.
type gpkgTableSpec struct {
	name, geomType string
	srsID          int64
	rows           [][]any // geometry blob first, then 名称, 编码, 户数
}

// writeGPKG creates a GeoPackage at path with the required tables (as the
// GeoPackage spec defines them) and the given feature tables.
func writeGPKG(t testing.TB, path string, srs [][]any, tables ...gpkgTableSpec) string {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`PRAGMA application_id = 1196444487`)
	exec(`CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
		organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`)
	exec(`CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
		description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
		min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER)`)
	exec(`CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
		srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL, PRIMARY KEY (table_name, column_name))`)
	exec(`INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', ''),
		('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', '')`)
	for _, s := range srs {
		exec(`INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, '')`, s...)
	}
	for _, tb := range tables {
		exec(`CREATE TABLE ` + quoteIdent(tb.name) + ` (fid INTEGER PRIMARY KEY AUTOINCREMENT, geom ` + tb.geomType + `, 名称 TEXT, 编码 TEXT, 户数 INTEGER)`)
		exec(`INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) VALUES (?, 'features', ?, ?)`, tb.name, tb.name, tb.srsID)
		exec(`INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)`, tb.name, tb.geomType, tb.srsID)
		for _, r := range tb.rows {
			exec(`INSERT INTO `+quoteIdent(tb.name)+` (geom, 名称, 编码, 户数) VALUES (?, ?, ?, ?)`, r...)
		}
	}
	return path
}

// readAll opens path and reads every feature.
func readAll(t testing.TB, path string, opts Options) (Info, []geo.Feature, error) {
	t.Helper()
	r, err := Open(path, opts)
	if err != nil {
		return Info{}, nil, err
	}
	defer r.Close()
	fs, err := ReadAll(r)
	return r.Info(), fs, err
}

// checkErr fails unless err is a one-line *geo.Error with code containing
// every want.
func checkErr(t testing.TB, err error, code string, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", want)
	}
	var ge *geo.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T) is not a *geo.Error", err, err)
	}
	if code != "" && ge.Code != code {
		t.Errorf("error %q has code %s, want %s", err, ge.Code, code)
	}
	msg := err.Error()
	if strings.ContainsAny(msg, "\r\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			t.Errorf("error %q does not say %q", msg, w)
		}
	}
}

// shpSetFromBytes makes a shapefile from parts held in memory, for fuzzing.
func shpSetFromBytes(layer string, parts map[string][]byte) *shpSet {
	s := &shpSet{display: layer + ".shp", layer: layer, parts: map[string]shpPart{}}
	for ext, b := range parts {
		s.parts[ext] = shpPart{name: layer + "." + ext, size: int64(len(b)), open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(b)), nil
		}}
	}
	return s
}

// containsAll reports whether s contains every one of subs.
func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
