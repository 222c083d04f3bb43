package exporters

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// An ESRI Shapefile (ESRI White Paper, July 1998) is several files of one
// base name: .shp the shapes, .shx the offset of each in .shp, .dbf the
// attributes (dBase III), and, by later custom, .prj the coordinate
// system as ESRI WKT and .cpg the attributes' text encoding. Integers in
// the .shp/.shx file and record headers are big-endian, everything else
// little-endian; lengths and offsets count 16-bit words.

// ShapefileParts are the extensions of the files a shapefile writer makes,
// the .shp first.
var ShapefileParts = []string{".shp", ".shx", ".dbf", ".prj", ".cpg"}

// esriWGS84 is WGS 84 as ArcGIS writes it in a .prj; GDAL, QGIS and
// SuperMap read it as EPSG:4326.
const esriWGS84 = `GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]`

const (
	shpFileCode    = 9994
	shpVersion     = 1000
	shpNull        = 0
	shpPolygon     = 5
	shpHeaderBytes = 100
	// shpMaxBytes keeps the .shp and .dbf under 2 GiB: the format counts
	// in signed 32-bit integers and many readers stop there.
	shpMaxBytes = math.MaxInt32
)

// dbfField is one column of the attribute table.
type dbfField struct {
	name     string // at most 10 characters
	typ      byte   // 'C' text, 'N' number
	width    int    // bytes
	decimals int
}

// dbfFields are the exported columns. Text is UTF-8 (said so by the
// .cpg), so a width counts bytes: 254, the most dBase III allows, holds a
// name of 84 Chinese characters. Codes are at most 15 digits today (a
// grid's); 40 leaves room for departments' own longer codes. Counts get 9
// digits, which ArcGIS and GDAL read as a 32-bit integer (10 would make
// them Double or Integer64).
var dbfFields = []dbfField{
	{"code", 'C', 40, 0},
	{"name", 'C', 254, 0},
	{"parent", 'C', 40, 0},
	{"level", 'C', 10, 0},
	{"households", 'N', 9, 0},
	{"population", 'N', 9, 0},
	{"area_m2", 'N', 18, 1},
	{"review", 'C', 254, 0},
}

// dbfRecordSize is the bytes of one record: the deletion flag, then the
// fields.
var dbfRecordSize = func() int {
	n := 1
	for _, f := range dbfFields {
		n += f.width
	}
	return n
}()

// shpWriter writes one shapefile, record by record; the headers, which
// hold the file lengths, the extent and the record count, are written
// again at Close.
type shpWriter struct {
	dir, base     string
	shp, shx, dbf *os.File
	shpW, shxW    *bufio.Writer
	dbfW          *bufio.Writer
	shpLen        int64 // bytes written to .shp, header included
	dbfLen        int64
	n             int
	extent        bound
	rec, buf      []byte
	date          time.Time
	err           error
	closed        bool
}

// NewShapefile creates base.shp, .shx, .dbf, .prj and .cpg in dir for a
// layer of polygons in EPSG:4326 with the fields of Feature, text in UTF-8.
func NewShapefile(dir, base string) (Writer, error) {
	w := &shpWriter{dir: dir, base: base, rec: make([]byte, dbfRecordSize), date: time.Now()}
	for _, p := range []struct{ ext, text string }{{".prj", esriWGS84}, {".cpg", "UTF-8"}} {
		if err := os.WriteFile(w.part(p.ext), []byte(p.text), 0o644); err != nil {
			return nil, geo.WrapError(geo.EINVALID, err, "cannot write %s", w.part(p.ext))
		}
	}
	for _, p := range []struct {
		ext string
		f   **os.File
		w   **bufio.Writer
	}{{".shp", &w.shp, &w.shpW}, {".shx", &w.shx, &w.shxW}, {".dbf", &w.dbf, &w.dbfW}} {
		f, err := os.OpenFile(w.part(p.ext), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
		if err != nil {
			w.closeFiles()
			return nil, geo.WrapError(geo.EINVALID, err, "cannot write %s", w.part(p.ext))
		}
		*p.f, *p.w = f, bufio.NewWriterSize(f, 1<<16)
	}
	// Placeholders; the real headers are known at Close.
	var zero [shpHeaderBytes]byte
	w.shpW.Write(zero[:])
	w.shxW.Write(zero[:])
	w.shpLen = shpHeaderBytes
	h := w.dbfHeader()
	w.dbfW.Write(h)
	w.dbfLen = int64(len(h))
	return w, nil
}

func (w *shpWriter) part(ext string) string { return filepath.Join(w.dir, w.base+ext) }

// Write appends one feature's shape, index entry and attributes.
func (w *shpWriter) Write(f Feature) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return geo.Errorf(geo.EINTERNAL, "write to the closed shapefile %s", w.part(".shp"))
	}
	w.n++
	if err := w.record(f); err != nil {
		w.err = geo.Errorf(geo.ErrorCode(err), "%s %s", featureName(w.n, f), geo.ErrorMessage(err))
		return w.err
	}
	if err := w.attributes(f); err != nil {
		w.err = geo.Errorf(geo.ErrorCode(err), "%s %s", featureName(w.n, f), geo.ErrorMessage(err))
		return w.err
	}
	return nil
}

// record appends the feature's shape to .shp and its offset to .shx.
func (w *shpWriter) record(f Feature) error {
	content := w.shape(f.Geometry)
	if w.shpLen+8+int64(len(content)) > shpMaxBytes {
		return geo.Errorf(geo.ETOOLARGE, "would make the .shp larger than 2 GB, more than shapefile readers handle: export as GeoPackage instead")
	}
	var h [8]byte
	binary.BigEndian.PutUint32(h[0:], uint32(w.n))
	binary.BigEndian.PutUint32(h[4:], uint32(len(content)/2))
	var ix [8]byte
	binary.BigEndian.PutUint32(ix[0:], uint32(w.shpLen/2))
	binary.BigEndian.PutUint32(ix[4:], uint32(len(content)/2))
	w.shpW.Write(h[:])
	w.shpW.Write(content)
	w.shxW.Write(ix[:])
	w.shpLen += 8 + int64(len(content))
	return nil
}

// shape encodes a multipolygon as a Polygon record (shape type 5): its
// box, every ring of every polygon as one part, the outer rings clockwise
// and the holes counter-clockwise as the format requires (PostGIS and
// GeoJSON run them the other way). A geometry with no vertices becomes a
// null shape.
func (w *shpWriter) shape(mp orb.MultiPolygon) []byte {
	box, ok := geometryBound(mp)
	b := w.buf[:0]
	if !ok {
		w.buf = binary.LittleEndian.AppendUint32(b, shpNull)
		return w.buf
	}
	w.extent.extend(box)
	var parts, points int
	for _, p := range mp {
		for _, r := range p {
			if len(r) > 0 {
				parts++
				points += len(r)
				if r[0] != r[len(r)-1] {
					points++ // closed below
				}
			}
		}
	}
	b = binary.LittleEndian.AppendUint32(b, shpPolygon)
	for _, v := range []float64{box.Min[0], box.Min[1], box.Max[0], box.Max[1]} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(parts))
	b = binary.LittleEndian.AppendUint32(b, uint32(points))
	start := 0
	for _, p := range mp {
		for _, r := range p {
			if len(r) > 0 {
				b = binary.LittleEndian.AppendUint32(b, uint32(start))
				start += len(r)
				if r[0] != r[len(r)-1] {
					start++
				}
			}
		}
	}
	pt := func(q orb.Point) {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(q[0]))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(q[1]))
	}
	for _, p := range mp {
		for i, r := range p {
			if len(r) == 0 {
				continue
			}
			// Outer rings (i == 0) clockwise, holes counter-clockwise.
			reverse := (i == 0) == (r.Orientation() == orb.CCW)
			for k := range r {
				if reverse {
					pt(r[len(r)-1-k])
				} else {
					pt(r[k])
				}
			}
			if r[0] != r[len(r)-1] {
				if reverse {
					pt(r[len(r)-1])
				} else {
					pt(r[0])
				}
			}
		}
	}
	w.buf = b
	return b
}

// attributes appends the feature's record to .dbf.
func (w *shpWriter) attributes(f Feature) error {
	if w.dbfLen+int64(dbfRecordSize) >= shpMaxBytes {
		return geo.Errorf(geo.ETOOLARGE, "would make the .dbf larger than 2 GB, more than shapefile readers handle: export as GeoPackage instead")
	}
	rec := w.rec
	rec[0] = ' ' // not deleted
	off := 1
	for _, fd := range dbfFields {
		var v string
		var null bool
		switch fd.name {
		case "code":
			v = f.Code
		case "name":
			v = f.Name
		case "parent":
			v = f.Parent
		case "level":
			v = f.Level
		case "review":
			v = f.Review
		case "households", "population":
			p := f.Households
			if fd.name == "population" {
				p = f.Population
			}
			null = p == nil
			if p != nil {
				v = strconv.Itoa(*p)
			}
		case "area_m2":
			if math.IsNaN(f.AreaM2) || math.IsInf(f.AreaM2, 0) {
				null = true
			} else {
				v = strconv.FormatFloat(f.AreaM2, 'f', fd.decimals, 64)
			}
		}
		if err := fd.put(rec[off:off+fd.width], v, null); err != nil {
			return err
		}
		off += fd.width
	}
	w.dbfW.Write(rec)
	w.dbfLen += int64(len(rec))
	return nil
}

// put writes one value into its slot: text left-aligned, numbers
// right-aligned, both padded with spaces; a null number is all spaces.
// A value that does not fit is an error rather than silently cut.
func (fd dbfField) put(slot []byte, v string, null bool) error {
	for i := range slot {
		slot[i] = ' '
	}
	if null {
		return nil
	}
	if len(v) > fd.width {
		if fd.typ == 'C' {
			return geo.Errorf(geo.EINVALID, "has a %s of %d bytes, more than the %d a shapefile field holds: shorten it or export as GeoPackage", fd.name, len(v), fd.width)
		}
		return geo.Errorf(geo.EINVALID, "has a %s of %s, more digits than the %d a shapefile field holds: export as GeoPackage", fd.name, v, fd.width)
	}
	if fd.typ == 'C' {
		if !utf8.ValidString(v) {
			return geo.Errorf(geo.EINVALID, "has a %s that is not valid UTF-8 text", fd.name)
		}
		copy(slot, v)
	} else {
		copy(slot[fd.width-len(v):], v)
	}
	return nil
}

// dbfHeader is the table's header and field descriptors, for the records
// written so far.
func (w *shpWriter) dbfHeader() []byte {
	size := 32 + 32*len(dbfFields) + 1
	h := make([]byte, size)
	h[0] = 0x03 // dBase III, no memo
	y, m, d := w.date.Date()
	h[1], h[2], h[3] = byte(y-1900), byte(m), byte(d)
	binary.LittleEndian.PutUint32(h[4:], uint32(w.n))
	binary.LittleEndian.PutUint16(h[8:], uint16(size))
	binary.LittleEndian.PutUint16(h[10:], uint16(dbfRecordSize))
	// h[29], the language driver, stays 0: the .cpg names the encoding.
	for i, f := range dbfFields {
		d := h[32+32*i : 64+32*i]
		copy(d[:11], f.name) // NUL-padded
		d[11] = f.typ
		d[16] = byte(f.width)
		d[17] = byte(f.decimals)
	}
	h[size-1] = 0x0D
	return h
}

// shpHeader is the 100-byte header of the .shp or .shx, whose length in
// bytes is n.
func (w *shpWriter) shpHeader(n int64) []byte {
	h := make([]byte, shpHeaderBytes)
	binary.BigEndian.PutUint32(h[0:], shpFileCode)
	binary.BigEndian.PutUint32(h[24:], uint32(n/2))
	binary.LittleEndian.PutUint32(h[28:], shpVersion)
	binary.LittleEndian.PutUint32(h[32:], shpPolygon)
	if w.extent.any { // else all zero, as for an empty layer
		b := w.extent.b
		for i, v := range []float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]} {
			binary.LittleEndian.PutUint64(h[36+8*i:], math.Float64bits(v))
		}
	}
	return h // Z and M ranges stay 0
}

// Close writes the headers and closes the files. After a failed Write it
// only closes them.
func (w *shpWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err != nil {
		w.closeFiles()
		return w.err
	}
	if err := w.finish(); err != nil {
		w.closeFiles()
		w.err = geo.WrapError(geo.EINVALID, err, "cannot write the shapefile %s", w.part(".shp"))
		return w.err
	}
	return nil
}

func (w *shpWriter) finish() error {
	w.dbfW.WriteByte(0x1A) // end of file
	for _, bw := range []*bufio.Writer{w.shpW, w.shxW, w.dbfW} {
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if _, err := w.shp.WriteAt(w.shpHeader(w.shpLen), 0); err != nil {
		return err
	}
	if _, err := w.shx.WriteAt(w.shpHeader(shpHeaderBytes+8*int64(w.n)), 0); err != nil {
		return err
	}
	if _, err := w.dbf.WriteAt(w.dbfHeader()[:32], 0); err != nil {
		return err
	}
	return w.closeFiles()
}

func (w *shpWriter) abort() {
	if !w.closed {
		w.closed = true
		w.closeFiles()
	}
}

func (w *shpWriter) closeFiles() error {
	var errs []error
	for _, f := range []*os.File{w.shp, w.shx, w.dbf} {
		if f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

// zipFiles packs the files names of dir into a new zip at zipPath, flat.
func zipFiles(zipPath, dir string, names []string) error {
	out, err := os.OpenFile(zipPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write %s", zipPath)
	}
	bw := bufio.NewWriterSize(out, 1<<16)
	zw := zip.NewWriter(bw)
	err = func() error {
		for _, n := range names {
			if err := addToZip(zw, filepath.Join(dir, n), n); err != nil {
				return err
			}
		}
		if err := zw.Close(); err != nil {
			return err
		}
		return bw.Flush()
	}()
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write %s", zipPath)
	}
	return nil
}

func addToZip(zw *zip.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: st.ModTime()}
	h.SetMode(0o644)
	zf, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(zf, f); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
