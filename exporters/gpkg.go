package exporters

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go (no cgo)
)

// A GeoPackage (OGC 12-128r17, version 1.3) is an SQLite database marked
// by its application_id and user_version, with three tables of its own —
// gpkg_spatial_ref_sys, gpkg_contents, gpkg_geometry_columns — and one
// table per layer whose geometry column holds the GeoPackage binary
// geometry: a short header with the extent, then standard WKB. The layer
// gets the spec's R-tree spatial index (the gpkg_rtree_index extension)
// so that QGIS and ArcGIS draw large layers fast.

const (
	gpkgApplicationID = 0x47504B47 // "GPKG"
	gpkgUserVersion   = 10300      // GeoPackage 1.3.0
	gpkgGeomColumn    = "geom"
	gpkgSRSID         = 4326
)

// wgs84WKT is the definition of EPSG:4326 as the spec's own example and
// GDAL write it (OGC WKT 1).
const wgs84WKT = `GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]`

// gpkgSchemaSQL creates the required tables (spec Annex C) with the rows
// gpkg_spatial_ref_sys must hold: the undefined Cartesian and geographic
// systems, and WGS 84.
const gpkgSchemaSQL = `
CREATE TABLE gpkg_spatial_ref_sys (
  srs_name TEXT NOT NULL,
  srs_id INTEGER PRIMARY KEY,
  organization TEXT NOT NULL,
  organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL,
  description TEXT
);
CREATE TABLE gpkg_contents (
  table_name TEXT NOT NULL PRIMARY KEY,
  data_type TEXT NOT NULL,
  identifier TEXT UNIQUE,
  description TEXT DEFAULT '',
  last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  min_x DOUBLE,
  min_y DOUBLE,
  max_x DOUBLE,
  max_y DOUBLE,
  srs_id INTEGER,
  CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_geometry_columns (
  table_name TEXT NOT NULL,
  column_name TEXT NOT NULL,
  geometry_type_name TEXT NOT NULL,
  srs_id INTEGER NOT NULL,
  z TINYINT NOT NULL,
  m TINYINT NOT NULL,
  CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name),
  CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
  CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);
CREATE TABLE gpkg_extensions (
  table_name TEXT,
  column_name TEXT,
  extension_name TEXT NOT NULL,
  definition TEXT NOT NULL,
  scope TEXT NOT NULL,
  CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name)
);
INSERT INTO gpkg_spatial_ref_sys VALUES
  ('Undefined cartesian SRS', -1, 'NONE', -1, 'undefined', 'undefined cartesian coordinate reference system'),
  ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference system'),
  ('WGS 84 geodetic', 4326, 'EPSG', 4326, '` + wgs84WKT + `', 'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');
`

// gpkgLayerSQL creates the feature table <t>, registers it, and creates
// its R-tree.
const gpkgLayerSQL = `
CREATE TABLE <t> (
  fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
  geom MULTIPOLYGON,
  code TEXT,
  name TEXT,
  parent TEXT,
  level TEXT,
  households INTEGER,
  population INTEGER,
  area_m2 REAL,
  review TEXT
);
INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
  VALUES ('<t>', 'features', '<t>', '', 4326);
INSERT INTO gpkg_geometry_columns VALUES ('<t>', 'geom', 'MULTIPOLYGON', 4326, 0, 0);
CREATE VIRTUAL TABLE rtree_<t>_geom USING rtree(id, minx, maxx, miny, maxy);
INSERT INTO gpkg_extensions VALUES ('<t>', 'geom', 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only');
`

// gpkgRTreeTriggersSQL are the triggers that keep the R-tree in step with
// later edits (GeoPackage 1.3, Annex F.3, verbatim with <t>, <c> = geom and
// <i> = fid). They call ST_IsEmpty, ST_MinX, … which every GeoPackage
// application provides but plain SQLite does not, so they are created
// after the features are in, and the R-tree is filled directly from the
// extents computed here.
const gpkgRTreeTriggersSQL = `
CREATE TRIGGER rtree_<t>_geom_insert AFTER INSERT ON <t>
  WHEN (new.geom NOT NULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
  INSERT OR REPLACE INTO rtree_<t>_geom VALUES (
    NEW.fid,
    ST_MinX(NEW.geom), ST_MaxX(NEW.geom),
    ST_MinY(NEW.geom), ST_MaxY(NEW.geom)
  );
END;
CREATE TRIGGER rtree_<t>_geom_update1 AFTER UPDATE OF geom ON <t>
  WHEN OLD.fid = NEW.fid AND
       (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
  INSERT OR REPLACE INTO rtree_<t>_geom VALUES (
    NEW.fid,
    ST_MinX(NEW.geom), ST_MaxX(NEW.geom),
    ST_MinY(NEW.geom), ST_MaxY(NEW.geom)
  );
END;
CREATE TRIGGER rtree_<t>_geom_update2 AFTER UPDATE OF geom ON <t>
  WHEN OLD.fid = NEW.fid AND
       (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
  DELETE FROM rtree_<t>_geom WHERE id = OLD.fid;
END;
CREATE TRIGGER rtree_<t>_geom_update3 AFTER UPDATE OF geom ON <t>
  WHEN OLD.fid != NEW.fid AND
       (NEW.geom NOTNULL AND NOT ST_IsEmpty(NEW.geom))
BEGIN
  DELETE FROM rtree_<t>_geom WHERE id = OLD.fid;
  INSERT OR REPLACE INTO rtree_<t>_geom VALUES (
    NEW.fid,
    ST_MinX(NEW.geom), ST_MaxX(NEW.geom),
    ST_MinY(NEW.geom), ST_MaxY(NEW.geom)
  );
END;
CREATE TRIGGER rtree_<t>_geom_update4 AFTER UPDATE ON <t>
  WHEN OLD.fid != NEW.fid AND
       (NEW.geom ISNULL OR ST_IsEmpty(NEW.geom))
BEGIN
  DELETE FROM rtree_<t>_geom WHERE id IN (OLD.fid, NEW.fid);
END;
CREATE TRIGGER rtree_<t>_geom_delete AFTER DELETE ON <t>
  WHEN old.geom NOT NULL
BEGIN
  DELETE FROM rtree_<t>_geom WHERE id = OLD.fid;
END;
`

// gpkgWriter writes one feature table, in one transaction.
type gpkgWriter struct {
	path, table string
	db          *sql.DB
	conn        *sql.Conn
	tx          *sql.Tx
	insert      *sql.Stmt
	index       *sql.Stmt
	extent      bound
	n           int
	blob        bytes.Buffer
	err         error // the first failure; the file is then abandoned
	closed      bool
}

// NewGeoPackage creates a GeoPackage at path, which must not exist yet,
// with one feature table named table (letters, digits and _) of
// MultiPolygons in EPSG:4326.
func NewGeoPackage(path, table string) (Writer, error) {
	if !validTable(table) {
		return nil, geo.Errorf(geo.EINVALID, "GeoPackage table name %q: use letters, digits and _ (at most 63), not starting with gpkg_, rtree_ or sqlite_", table)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot create %s", path)
	}
	f.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot create %s", path)
	}
	db, err := sql.Open("sqlite", (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String())
	if err != nil {
		return nil, geo.WrapError(geo.EINTERNAL, err, "cannot create %s", path)
	}
	w := &gpkgWriter{path: path, table: table, db: db}
	if err := w.start(); err != nil {
		w.abandon()
		return nil, geo.WrapError(geo.EINTERNAL, err, "cannot create the GeoPackage %s", path)
	}
	return w, nil
}

// start sets the file up and opens the transaction the features go in.
func (w *gpkgWriter) start() error {
	ctx := context.Background()
	var err error
	if w.conn, err = w.db.Conn(ctx); err != nil {
		return err
	}
	// The file is a temporary one that is deleted on any failure, so
	// neither a rollback journal on disk nor fsyncs would buy anything.
	for _, p := range []string{
		fmt.Sprintf("PRAGMA application_id = %d", gpkgApplicationID),
		fmt.Sprintf("PRAGMA user_version = %d", gpkgUserVersion),
		"PRAGMA journal_mode = MEMORY",
		"PRAGMA synchronous = OFF",
	} {
		if _, err := w.conn.ExecContext(ctx, p); err != nil {
			return err
		}
	}
	if w.tx, err = w.conn.BeginTx(ctx, nil); err != nil {
		return err
	}
	if _, err := w.tx.Exec(gpkgSchemaSQL); err != nil {
		return err
	}
	if _, err := w.tx.Exec(w.sql(gpkgLayerSQL)); err != nil {
		return err
	}
	if w.insert, err = w.tx.Prepare(w.sql(`INSERT INTO <t> (fid, geom, code, name, parent, level, households, population, area_m2, review)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)); err != nil {
		return err
	}
	w.index, err = w.tx.Prepare(w.sql(`INSERT INTO rtree_<t>_geom VALUES (?, ?, ?, ?, ?)`))
	return err
}

// sql fills the table name into a template; the name was checked to be
// a plain identifier.
func (w *gpkgWriter) sql(template string) string {
	return strings.ReplaceAll(template, "<t>", w.table)
}

// Write inserts one feature and its R-tree entry.
func (w *gpkgWriter) Write(f Feature) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return geo.Errorf(geo.EINTERNAL, "write to the closed GeoPackage %s", w.path)
	}
	w.n++
	b, ok, err := w.encode(f.Geometry)
	if err != nil {
		w.err = geo.Errorf(geo.EINVALID, "%s cannot be encoded as WKB: %v", featureName(w.n, f), err)
		return w.err
	}
	if _, err := w.insert.Exec(w.n, w.blob.Bytes(), f.Code, f.Name, f.Parent, f.Level,
		nullInt(f.Households), nullInt(f.Population), f.AreaM2, f.Review); err != nil {
		w.err = geo.WrapError(geo.EINTERNAL, err, "GeoPackage: %s", featureName(w.n, f))
		return w.err
	}
	if ok {
		w.extent.extend(b)
		if _, err := w.index.Exec(w.n, b.Min[0], b.Max[0], b.Min[1], b.Max[1]); err != nil {
			w.err = geo.WrapError(geo.EINTERNAL, err, "GeoPackage spatial index: %s", featureName(w.n, f))
			return w.err
		}
	}
	return nil
}

// encode puts the GeoPackage binary geometry of mp into w.blob and returns
// its extent (ok false when it is empty). Header (spec 2.1.3): "GP",
// version 0, flags, srs_id, envelope [minx, maxx, miny, maxy]; flags bit 0
// says little-endian, bits 1–3 = 1 an XY envelope, bit 4 an empty
// geometry. Then WKB, little-endian too.
func (w *gpkgWriter) encode(mp orb.MultiPolygon) (orb.Bound, bool, error) {
	b, ok := geometryBound(mp)
	w.blob.Reset()
	flags := byte(0x01)
	if ok {
		flags |= 1 << 1
	} else {
		flags |= 0x10
	}
	var h [8 + 32]byte
	h[0], h[1], h[2], h[3] = 'G', 'P', 0, flags
	binary.LittleEndian.PutUint32(h[4:], gpkgSRSID)
	n := 8
	if ok {
		for i, v := range []float64{b.Min[0], b.Max[0], b.Min[1], b.Max[1]} {
			binary.LittleEndian.PutUint64(h[8+8*i:], math.Float64bits(v))
		}
		n += 32
	}
	w.blob.Write(h[:n])
	if mp == nil {
		mp = orb.MultiPolygon{}
	}
	if err := wkb.NewEncoder(&w.blob).SetByteOrder(binary.LittleEndian).Encode(mp); err != nil {
		return b, false, err
	}
	return b, ok, nil
}

func nullInt(p *int) any {
	if p == nil {
		return nil
	}
	return int64(*p)
}

// Close records the layer's extent, adds the spatial index triggers and
// commits. After a failed Write it only releases the file.
func (w *gpkgWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		w.abandon()
		return w.err
	}
	err := w.finish()
	if err != nil {
		w.abandon()
		w.err = geo.WrapError(geo.EINTERNAL, err, "cannot finish the GeoPackage %s", w.path)
		return w.err
	}
	return nil
}

func (w *gpkgWriter) finish() error {
	w.insert.Close()
	w.index.Close()
	var minX, minY, maxX, maxY any // NULL for an empty layer
	if w.extent.any {
		minX, minY, maxX, maxY = w.extent.b.Min[0], w.extent.b.Min[1], w.extent.b.Max[0], w.extent.b.Max[1]
	}
	if _, err := w.tx.Exec(`UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ?,
		last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = ?`, minX, minY, maxX, maxY, w.table); err != nil {
		return err
	}
	if _, err := w.tx.Exec(w.sql(gpkgRTreeTriggersSQL)); err != nil {
		return err
	}
	if err := w.tx.Commit(); err != nil {
		return err
	}
	w.tx = nil
	return errors.Join(w.conn.Close(), w.db.Close())
}

func (w *gpkgWriter) abort() {
	if !w.closed {
		w.closed = true
		w.abandon()
	}
}

// abandon releases the database after a failure; the caller deletes the
// file.
func (w *gpkgWriter) abandon() {
	if w.tx != nil {
		w.tx.Rollback()
	}
	if w.conn != nil {
		w.conn.Close()
	}
	w.db.Close()
}
