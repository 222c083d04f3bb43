package importers

import (
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go (no cgo)
)

// A GeoPackage is an SQLite database with a few tables of its own:
// gpkg_contents lists the layers, gpkg_geometry_columns their geometry
// column and type, gpkg_spatial_ref_sys their coordinate systems. Each
// layer is a table with one geometry column holding the GeoPackage binary
// geometry: a small header, then standard WKB.

// gpkgTable is one feature table.
type gpkgTable struct {
	name, column, geomType string
	srsID                  int64
}

// polygonTypes are the geometry types of a boundary layer.
func isPolygonType(t string) bool {
	switch strings.ToUpper(t) {
	case "POLYGON", "MULTIPOLYGON", "CURVEPOLYGON", "MULTISURFACE", "SURFACE":
		return true
	}
	return false
}

// gpkgReader streams the rows of one feature table.
type gpkgReader struct {
	path  string
	db    *sql.DB
	rows  *sql.Rows
	table gpkgTable
	info  Info
	maxV  int
	cols  []string
	geom  int // index of the geometry column in cols
	pk    int // index of the integer primary key, -1 if none
	vals  []any
	ptrs  []any
	n     int
}

// openGeoPackage opens the feature table chosen by Options.Table, or the
// only polygon table.
func openGeoPackage(p string, opts Options) (_ Reader, err error) {
	if err := checkSQLiteHeader(p); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", p)
	}
	// A file: URI so that SQLite itself opens the file read-only: the
	// import must never change (or create) the file it reads.
	dsn := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: "mode=ro"}).String()
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", p)
	}
	db.SetMaxOpenConns(1)
	r := &gpkgReader{path: p, db: db, maxV: opts.maxVertices(), pk: -1}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	tables, err := r.featureTables()
	if err != nil {
		return nil, err
	}
	t, err := pickGPKGTable(p, tables, opts.Table)
	if err != nil {
		return nil, err
	}
	r.table = t
	r.info = Info{Format: "gpkg", Encoding: "UTF-8", Layer: t.name}
	if r.info.SRS, err = r.srs(t.srsID); err != nil && opts.SRS == "" {
		return nil, err
	}
	if err := r.start(); err != nil {
		return nil, err
	}
	return r, nil
}

// checkSQLiteHeader gives a clear message for a file that is no SQLite
// database at all, before SQLite gives a cryptic one.
func checkSQLiteHeader(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot open %s", p)
	}
	defer f.Close()
	var h [16]byte
	if _, err := io.ReadFull(f, h[:]); err != nil || string(h[:]) != "SQLite format 3\x00" {
		return geo.Errorf(geo.EINVALID, "%s is not a GeoPackage (it is not an SQLite database): export the layer as a GeoPackage again", p)
	}
	return nil
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// featureTables lists the feature tables with their geometry columns.
func (r *gpkgReader) featureTables() ([]gpkgTable, error) {
	rows, err := r.db.Query(`SELECT c.table_name, g.column_name, g.geometry_type_name, g.srs_id
		FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name
		WHERE c.data_type = 'features' ORDER BY c.table_name`)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "%s is not a GeoPackage (it has no readable gpkg_contents and gpkg_geometry_columns tables): export the layer as a GeoPackage again", r.path)
	}
	defer rows.Close()
	var out []gpkgTable
	for rows.Next() {
		var t gpkgTable
		var typ sql.NullString
		if err := rows.Scan(&t.name, &t.column, &typ, &t.srsID); err != nil {
			return nil, geo.WrapError(geo.EINVALID, err, "%s: cannot read its list of layers", r.path)
		}
		t.geomType = strings.ToUpper(typ.String)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "%s: cannot read its list of layers", r.path)
	}
	return out, nil
}

// pickGPKGTable chooses the table named by --table, else the only polygon
// table; several are an error listing them, since importing some of them
// silently would be a surprise.
func pickGPKGTable(p string, tables []gpkgTable, want string) (gpkgTable, error) {
	describe := func(ts []gpkgTable) string {
		var s []string
		for _, t := range ts {
			s = append(s, fmt.Sprintf("%s (%s)", printable(t.name), printable(strings.ToLower(t.geomType))))
		}
		return strings.Join(s, ", ")
	}
	if len(tables) == 0 {
		return gpkgTable{}, geo.Errorf(geo.EINVALID, "%s has no feature tables", p)
	}
	if want != "" {
		for _, t := range tables {
			if t.name == want {
				return t, nil
			}
		}
		for _, t := range tables {
			if strings.EqualFold(t.name, want) {
				return t, nil
			}
		}
		return gpkgTable{}, geo.Errorf(geo.EINVALID, "%s has no feature table %q; its feature tables are: %s", p, want, describe(tables))
	}
	var polys []gpkgTable
	for _, t := range tables {
		if isPolygonType(t.geomType) {
			polys = append(polys, t)
		}
	}
	switch len(polys) {
	case 1:
		return polys[0], nil
	case 0:
		return gpkgTable{}, geo.Errorf(geo.EINVALID, "%s has no polygon table; its feature tables are: %s; pick one with --table NAME", p, describe(tables))
	}
	return gpkgTable{}, geo.Errorf(geo.EINVALID, "%s has %d polygon tables: %s; pick one with --table NAME", p, len(polys), describe(polys))
}

// srs maps a table's srs_id through gpkg_spatial_ref_sys. The spec reserves
// 0 (undefined geographic) and -1 (undefined Cartesian): no SRS.
func (r *gpkgReader) srs(id int64) (string, error) {
	if id == 0 || id == -1 {
		return "", nil
	}
	var org sql.NullString
	var orgID sql.NullInt64
	var def sql.NullString
	err := r.db.QueryRow(`SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys WHERE srs_id = ?`, id).Scan(&org, &orgID, &def)
	if err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "%s: table %s uses srs_id %d, which gpkg_spatial_ref_sys does not define: pass --srs EPSG:nnnn", r.path, printable(r.table.name), id)
	}
	if strings.EqualFold(strings.TrimSpace(org.String), "EPSG") && orgID.Valid && orgID.Int64 > 0 {
		return fmt.Sprintf("EPSG:%d", orgID.Int64), nil
	}
	srs, err := SRSFromWKT(def.String)
	if err != nil {
		return "", geo.Errorf(geo.EINVALID, "%s: table %s: %s", r.path, printable(r.table.name), geo.ErrorMessage(err))
	}
	return srs, nil
}

// start runs the query whose rows Next returns, one at a time.
func (r *gpkgReader) start() error {
	pk := ""
	if rows, err := r.db.Query(`SELECT name, type, pk FROM pragma_table_info(?)`, r.table.name); err == nil {
		for rows.Next() {
			var name, typ string
			var isPK int
			if rows.Scan(&name, &typ, &isPK) == nil && isPK == 1 && strings.EqualFold(typ, "INTEGER") {
				pk = name
			}
		}
		rows.Close()
	}
	rows, err := r.db.Query(`SELECT * FROM ` + quoteIdent(r.table.name))
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "%s: cannot read table %s", r.path, printable(r.table.name))
	}
	r.rows = rows
	cols, err := rows.Columns()
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "%s: cannot read table %s", r.path, printable(r.table.name))
	}
	r.cols = cols
	r.geom = -1
	for i, c := range cols {
		switch {
		case strings.EqualFold(c, r.table.column) && r.geom < 0:
			r.geom = i
		case c == pk:
			r.pk = i
			r.info.Fields = append(r.info.Fields, c)
		default:
			r.info.Fields = append(r.info.Fields, c)
		}
	}
	if r.geom < 0 {
		return geo.Errorf(geo.EINVALID, "%s: table %s has no column %s, which gpkg_geometry_columns names as its geometry: repair or re-export the GeoPackage", r.path, printable(r.table.name), printable(r.table.column))
	}
	r.vals = make([]any, len(cols))
	r.ptrs = make([]any, len(cols))
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return nil
}

func (r *gpkgReader) Info() Info { return r.info }

func (r *gpkgReader) Close() error {
	if r.rows != nil {
		r.rows.Close()
	}
	return r.db.Close()
}

// where names the current row for messages: its number and its fid.
func (r *gpkgReader) where() string {
	table := printable(r.table.name)
	if r.pk >= 0 {
		return fmt.Sprintf("%s: table %s, feature %d (fid %s)", r.path, table, r.n, printable(fmt.Sprint(r.vals[r.pk])))
	}
	return fmt.Sprintf("%s: table %s, feature %d", r.path, table, r.n)
}

func (r *gpkgReader) Next() (geo.Feature, error) {
	if r.rows == nil || !r.rows.Next() {
		if r.rows != nil {
			if err := r.rows.Err(); err != nil {
				return geo.Feature{}, geo.WrapError(geo.EINVALID, err, "%s: table %s: cannot read row %d (is the file damaged?)", r.path, printable(r.table.name), r.n+1)
			}
		}
		return geo.Feature{}, io.EOF
	}
	r.n++
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return geo.Feature{}, geo.WrapError(geo.EINVALID, err, "%s: cannot read it", r.where())
	}
	blob, _ := r.vals[r.geom].([]byte)
	if s, ok := r.vals[r.geom].(string); ok {
		blob = []byte(s)
	}
	if len(blob) == 0 {
		return geo.Feature{}, geo.Errorf(geo.EINVALID, "%s has no geometry: delete the row or draw its boundary", r.where())
	}
	g, err := decodeGPKGGeometry(blob, r.maxV)
	if err != nil {
		return geo.Feature{}, geo.Errorf(geo.EINVALID, "%s %s", r.where(), gpkgGeomError(err))
	}
	if msg := checkGeometry(g, r.maxV); msg != "" {
		return geo.Feature{}, geo.Errorf(geo.EINVALID, "%s %s", r.where(), msg)
	}
	props := make(map[string]any, len(r.cols)-1)
	for i, c := range r.cols {
		if i == r.geom {
			continue
		}
		v, err := gpkgValue(r.vals[i])
		if err != nil {
			return geo.Feature{}, geo.Errorf(geo.EINVALID, "%s, column %s %s", r.where(), printable(c), err)
		}
		props[c] = v
	}
	return geo.Feature{Props: props, Geometry: g}, nil
}

// gpkgGeomError words a geometry error after the feature's name.
func gpkgGeomError(err error) string {
	var tm errTooManyVertices
	if errors.As(err, &tm) {
		return tm.Error()
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "is ") || strings.HasPrefix(msg, "has ") {
		return msg
	}
	return "has a damaged geometry (" + msg + "): repair or re-export the GeoPackage"
}

// gpkgValue turns a column value into an attribute. GeoPackage text is
// UTF-8 by specification; text that is not would be stored garbled, so it
// is refused.
func gpkgValue(v any) (any, error) {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return nil, fmt.Errorf("is not valid UTF-8, as GeoPackage text must be: re-export the layer from a tool that writes UTF-8")
		}
		return x, nil
	case float64:
		if !finite(x) {
			return nil, nil
		}
		return x, nil
	case time.Time:
		return x.Format(time.RFC3339), nil
	}
	return v, nil
}

// GeoPackage binary geometry header flags (GeoPackage 1.3, §2.1.3). Bit 0,
// the byte order of the header's srs_id and envelope, does not matter here:
// the SRS comes from the table, and the WKB says its own byte order.
const (
	gpkgFlagEnvelope = 0x0E // 3 bits: envelope contents indicator
	gpkgFlagEmpty    = 0x10
	gpkgFlagExtended = 0x20
)

// decodeGPKGGeometry decodes a GeoPackage geometry blob: "GP", a version
// byte, a flags byte, the srs_id, an envelope whose size the flags give
// (none, XY, XYZ, XYM or XYZM: 0, 32, 48, 48 or 64 bytes), then WKB.
func decodeGPKGGeometry(b []byte, maxVertices int) (orb.Geometry, error) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return nil, fmt.Errorf("is not a GeoPackage geometry (it does not start with \"GP\")")
	}
	if b[2] != 0 {
		return nil, fmt.Errorf("has a GeoPackage geometry of version %d, which gridd does not know", b[2]+1)
	}
	flags := b[3]
	if flags&gpkgFlagExtended != 0 {
		return nil, fmt.Errorf("uses an extended GeoPackage geometry type, which gridd does not read: export plain polygons")
	}
	var envelope int
	switch (flags & gpkgFlagEnvelope) >> 1 {
	case 0:
	case 1:
		envelope = 32
	case 2, 3:
		envelope = 48
	case 4:
		envelope = 64
	default:
		return nil, fmt.Errorf("has a damaged GeoPackage geometry header (envelope code %d)", (flags&gpkgFlagEnvelope)>>1)
	}
	if flags&gpkgFlagEmpty != 0 {
		return nil, fmt.Errorf("has an empty geometry: delete the row or draw its boundary")
	}
	start := 8 + envelope
	if len(b) < start {
		return nil, fmt.Errorf("has a damaged GeoPackage geometry (%d bytes, shorter than its header)", len(b))
	}
	g, err := decodeWKB(b[start:], maxVertices)
	if err != nil {
		return nil, err
	}
	if g == nil {
		return nil, fmt.Errorf("has an empty geometry: delete the row or draw its boundary")
	}
	return g, nil
}
