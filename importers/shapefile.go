package importers

import (
	"archive/zip"
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// A shapefile is several files sharing a name: .shp (geometry), .shx (the
// index of .shp records), .dbf (attributes), and optionally .prj (the
// coordinate system as WKT) and .cpg (the attribute encoding). They come as
// a .shp path, a folder, or a zip. The reader here is written for gridd
// rather than borrowed: it has to see the raw DBF bytes to pick the text
// encoding, refuse oversized records before allocating them, and name the
// record in every error.

// shpPart is one of a shapefile's files, wherever it lives.
type shpPart struct {
	name string // for messages
	size int64
	open func() (io.ReadCloser, error)
	zf   *zip.File // when it lives in a zip, for the size checks
}

// shpSet is the files of one shapefile.
type shpSet struct {
	display string // the .shp, for messages: "roads.shp", "data.zip: roads/roads.shp"
	layer   string // its name without extension
	parts   map[string]shpPart
	closer  io.Closer // the zip file, if any
}

// shpExts are the extensions of the parts gridd reads.
var shpExts = []string{"shp", "shx", "dbf", "prj", "cpg"}

// openShapefile opens the shapefile whose .shp is at p.
func openShapefile(p string, opts Options) (Reader, error) {
	dir, base := filepath.Split(p)
	if dir == "" {
		dir = "."
	}
	sets, err := dirShapefiles(dir)
	if err != nil {
		return nil, err
	}
	layer := strings.TrimSuffix(base, filepath.Ext(base))
	for _, s := range sets {
		if strings.EqualFold(s.layer, layer) {
			s.display = p
			return newShapefileReader(s, opts)
		}
	}
	return nil, geo.Errorf(geo.EINVALID, "cannot open %s: no such file", p)
}

// openShapefileDir opens the shapefile in folder dir.
func openShapefileDir(dir string, opts Options) (Reader, error) {
	sets, err := dirShapefiles(dir)
	if err != nil {
		return nil, err
	}
	s, err := pickShapefile(dir, "folder", sets, opts)
	if err != nil {
		return nil, err
	}
	return newShapefileReader(s, opts)
}

// dirShapefiles lists the shapefiles of a folder, matching the parts'
// extensions without regard to case (FOO.SHP, foo.dbf).
func dirShapefiles(dir string) ([]*shpSet, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot read folder %s", dir)
	}
	byBase := map[string]*shpSet{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		ext := strings.ToLower(strings.TrimPrefix(filepath.Ext(e.Name()), "."))
		if !isShpExt(ext) {
			continue
		}
		base := strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))
		key := strings.ToLower(base)
		s := byBase[key]
		if s == nil {
			s = &shpSet{layer: base, display: filepath.Join(dir, base+".shp"), parts: map[string]shpPart{}}
			byBase[key] = s
		}
		full := filepath.Join(dir, e.Name())
		info, err := e.Info()
		if err != nil {
			return nil, geo.WrapError(geo.EINVALID, err, "cannot read %s", full)
		}
		if ext == "shp" {
			s.display = full
		}
		s.parts[ext] = shpPart{name: full, size: info.Size(), open: func() (io.ReadCloser, error) {
			f, err := os.Open(full)
			if err != nil {
				return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", full)
			}
			return f, nil
		}}
	}
	return shapefileSets(byBase), nil
}

func isShpExt(ext string) bool {
	for _, e := range shpExts {
		if ext == e {
			return true
		}
	}
	return false
}

// shapefileSets keeps the groups that have a .shp, sorted by name.
func shapefileSets(byBase map[string]*shpSet) []*shpSet {
	var out []*shpSet
	for _, s := range byBase {
		if _, ok := s.parts["shp"]; ok {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].display < out[j].display })
	return out
}

// pickShapefile chooses the shapefile to read: the one named by
// Options.Table, or the only one.
func pickShapefile(where, kind string, sets []*shpSet, opts Options) (*shpSet, error) {
	var names []string
	for _, s := range sets {
		names = append(names, printable(s.layer))
	}
	if opts.Table != "" {
		for _, s := range sets {
			if strings.EqualFold(s.layer, opts.Table) || strings.EqualFold(path.Base(s.layer), opts.Table) {
				return s, nil
			}
		}
		if len(sets) == 0 {
			return nil, geo.Errorf(geo.EINVALID, "%s holds no shapefile (.shp)", where)
		}
		return nil, geo.Errorf(geo.EINVALID, "%s holds no shapefile %q; it holds: %s", where, opts.Table, strings.Join(names, ", "))
	}
	switch len(sets) {
	case 0:
		return nil, geo.Errorf(geo.EINVALID, "%s holds no shapefile (.shp): give a %s with a .shp, .shx and .dbf of the same name", where, kind)
	case 1:
		return sets[0], nil
	}
	return nil, geo.Errorf(geo.EINVALID, "%s holds %d shapefiles (%s): pick one with --table NAME", where, len(sets), strings.Join(names, ", "))
}

// openShapefileZip opens the shapefile in a zip.
func openShapefileZip(p string, opts Options) (Reader, error) {
	z, err := openZip(p, opts)
	if err != nil {
		return nil, err
	}
	r, err := zipShapefile(z, opts)
	if err != nil {
		z.Close()
		return nil, err
	}
	return r, nil
}

// zipShapefile reads the shapefile in an open archive; the reader closes
// the archive.
func zipShapefile(z *zipArchive, opts Options) (Reader, error) {
	byBase := map[string]*shpSet{}
	for _, f := range z.files {
		ext := strings.ToLower(strings.TrimPrefix(path.Ext(f.Name), "."))
		if !isShpExt(ext) {
			continue
		}
		base := strings.TrimSuffix(f.Name, path.Ext(f.Name))
		key := strings.ToLower(base)
		s := byBase[key]
		if s == nil {
			s = &shpSet{layer: displayZipName(base), parts: map[string]shpPart{}, closer: z}
			byBase[key] = s
		}
		name := z.name + ": " + displayZipName(f.Name)
		if ext == "shp" {
			s.display = name
		}
		f := f
		s.parts[ext] = shpPart{name: name, size: int64(min(f.UncompressedSize64, math.MaxInt64)), zf: f, open: func() (io.ReadCloser, error) {
			return z.open(f)
		}}
	}
	s, err := pickShapefile(z.name, "zip", shapefileSets(byBase), opts)
	if err != nil {
		return nil, err
	}
	var files []*zip.File
	for _, p := range s.parts {
		files = append(files, p.zf)
	}
	// The DBF is read twice (once to settle its encoding).
	files = append(files, s.parts["dbf"].zf)
	if err := z.checkSizes(files...); err != nil {
		return nil, err
	}
	return newShapefileReader(s, opts)
}

// shpReader streams the records of a shapefile with their attributes.
type shpReader struct {
	set  *shpSet
	info Info
	maxV int

	shp     *bufio.Reader
	shpSize int64
	pos     int64 // offset in .shp of the next byte of shp
	shx     *bufio.Reader
	count   int // records, according to .shx
	n       int // records read
	dbf     *dbfRecords
	buf     []byte
	closers []io.Closer
}

// shapeTypeNames are the shapefile geometry types, for messages.
var shapeTypeNames = map[uint32]string{
	0: "null", 1: "Point", 3: "PolyLine", 5: "Polygon", 8: "MultiPoint",
	11: "PointZ", 13: "PolyLineZ", 15: "PolygonZ", 18: "MultiPointZ",
	21: "PointM", 23: "PolyLineM", 25: "PolygonM", 28: "MultiPointM", 31: "MultiPatch",
}

// newShapefileReader checks that the parts belong together, settles the
// coordinate system and the encoding, and positions at the first record.
func newShapefileReader(s *shpSet, opts Options) (_ Reader, err error) {
	r := &shpReader{set: s, maxV: opts.maxVertices(), info: Info{Format: "shapefile", Layer: path.Base(filepath.ToSlash(s.layer))}}
	if s.closer != nil {
		r.closers = append(r.closers, s.closer)
	}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	for _, ext := range []string{"shx", "dbf"} {
		if _, ok := s.parts[ext]; !ok {
			return nil, geo.Errorf(geo.EINVALID, "%s: the .%s file of the same name is missing (%s): a shapefile needs its .shp, .shx and .dbf together; copy all of them", s.display, ext, partsPresent(s))
		}
	}
	for _, p := range s.parts {
		if p.size > opts.maxFileSize() {
			return nil, geo.Errorf(geo.ETOOLARGE, "%s is %s, more than the limit of %s: split the layer into smaller files", p.name, byteSize(p.size), byteSize(opts.maxFileSize()))
		}
	}

	// .prj: the coordinate system. An unknown one is an error unless the
	// user already said which it is.
	if p, ok := s.parts["prj"]; ok {
		wkt, err := readSmallPart(p)
		if err != nil {
			return nil, err
		}
		srs, err := SRSFromWKT(wkt)
		if err != nil && opts.SRS == "" {
			return nil, geo.Errorf(geo.EINVALID, "%s: %s", p.name, geo.ErrorMessage(err))
		}
		r.info.SRS = srs
	}

	// .shx and .shp headers.
	shx, err := r.openPart("shx")
	if err != nil {
		return nil, err
	}
	r.shx = bufio.NewReader(shx)
	if err := readShpHeader(r.shx, s.parts["shx"].name); err != nil {
		return nil, err
	}
	r.count = int((s.parts["shx"].size - 100) / 8)
	shp, err := r.openPart("shp")
	if err != nil {
		return nil, err
	}
	r.shp = bufio.NewReaderSize(shp, 1<<16)
	r.shpSize = s.parts["shp"].size
	if err := readShpHeader(r.shp, s.display); err != nil {
		return nil, err
	}
	r.pos = 100

	// .dbf: a first pass settles the encoding, a second reads records.
	dbfPart := s.parts["dbf"]
	first, err := dbfPart.open()
	if err != nil {
		return nil, err
	}
	firstBR := bufio.NewReaderSize(first, 1<<16)
	t, err := readDBFHeader(firstBR, dbfPart.size, dbfPart.name)
	if err != nil {
		first.Close()
		return nil, err
	}
	if t.records != r.count {
		first.Close()
		return nil, geo.Errorf(geo.EINVALID, "%s has %d records but %s has %d shapes: the attribute table does not belong to this .shp, or one of them was cut short; re-export the layer",
			dbfPart.name, t.records, s.display, r.count)
	}
	if r.count > opts.maxFeatures() {
		first.Close()
		return nil, geo.Errorf(geo.ETOOLARGE, "%s has %d features, more than the limit of %d: split the layer into smaller files", s.display, r.count, opts.maxFeatures())
	}
	hint := encodingHint{option: opts.Encoding, ldid: t.ldid}
	if p, ok := s.parts["cpg"]; ok {
		if hint.cpg, err = readSmallPart(p); err != nil {
			first.Close()
			return nil, err
		}
	}
	decl, err := hint.declare()
	if err != nil {
		first.Close()
		return nil, err
	}
	sniff := newTextSniffer(decl.cs, func(n int, field string) string {
		if n == 0 {
			return "the field names"
		}
		return fmt.Sprintf("record %d, field %s", n, displayZipName(field))
	})
	err = t.scanText(firstBR, sniff.add)
	first.Close()
	if err != nil {
		return nil, err
	}
	cs, err := chooseCharset(dbfPart.name, decl, sniff)
	if err != nil {
		return nil, err
	}
	r.info.Encoding = cs.name
	dec := cs.decoder()
	r.info.Fields = t.nameFields(dec)
	second, err := r.openPart("dbf")
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(second, 1<<16)
	if _, err := io.CopyN(io.Discard, br, int64(t.headerSize)); err != nil {
		return nil, t.truncated(1, err)
	}
	r.dbf = t.reader(br, dec)
	return r, nil
}

// partsPresent lists the parts found, for the missing-part message.
func partsPresent(s *shpSet) string {
	var have []string
	for _, ext := range shpExts {
		if _, ok := s.parts[ext]; ok {
			have = append(have, "."+ext)
		}
	}
	return "found only " + strings.Join(have, ", ")
}

func (r *shpReader) openPart(ext string) (io.ReadCloser, error) {
	rc, err := r.set.parts[ext].open()
	if err != nil {
		return nil, err
	}
	r.closers = append(r.closers, rc)
	return rc, nil
}

// readSmallPart reads a .prj or .cpg, which are a line or two of text.
func readSmallPart(p shpPart) (string, error) {
	rc, err := p.open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxWKTLen+1))
	if err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "cannot read %s", p.name)
	}
	return string(b), nil
}

// readShpHeader checks the 100-byte header shared by .shp and .shx.
func readShpHeader(r io.Reader, name string) error {
	var h [100]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return geo.Errorf(geo.EINVALID, "%s is too short to be part of a shapefile: copy the complete file again", name)
	}
	if binary.BigEndian.Uint32(h[0:4]) != 9994 {
		return geo.Errorf(geo.EINVALID, "%s is not part of a shapefile (its header does not start with the shapefile file code)", name)
	}
	return nil
}

func (r *shpReader) Info() Info { return r.info }

func (r *shpReader) Close() error {
	var first error
	for i := len(r.closers) - 1; i >= 0; i-- {
		if err := r.closers[i].Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	return first
}

func (r *shpReader) fail(format string, args ...any) error {
	return geo.Errorf(geo.EINVALID, "%s: record %d of %d %s", r.set.display, r.n, r.count, fmt.Sprintf(format, args...))
}

// Next reads the next record that is not marked deleted in the .dbf (GDAL
// skips those too).
func (r *shpReader) Next() (geo.Feature, error) {
	for {
		if r.n >= r.count {
			return geo.Feature{}, io.EOF
		}
		r.n++
		g, err := r.readShape()
		if err != nil {
			return geo.Feature{}, err
		}
		props, deleted, err := r.dbf.next()
		if err != nil {
			return geo.Feature{}, err
		}
		if deleted {
			continue
		}
		if g == nil {
			return geo.Feature{}, r.fail("has no geometry (a null or empty shape): delete the record or draw its boundary")
		}
		if msg := checkGeometry(g, r.maxV); msg != "" {
			return geo.Feature{}, r.fail("%s", msg)
		}
		return geo.Feature{Props: props, Geometry: g}, nil
	}
}

// readShape reads record r.n, which the .shx says where to find.
func (r *shpReader) readShape() (orb.Geometry, error) {
	var ix [8]byte
	if _, err := io.ReadFull(r.shx, ix[:]); err != nil {
		return nil, r.readErr(r.set.parts["shx"].name, err)
	}
	offset := int64(binary.BigEndian.Uint32(ix[0:4])) * 2
	switch {
	case offset < r.pos:
		return nil, r.fail("starts, says the .shx, at byte %d, inside the record before it: the .shx does not match the .shp; re-export the layer", offset)
	case offset > r.pos:
		// Writers may leave gaps between records; the index is authoritative.
		if offset > r.shpSize {
			return nil, r.truncated(offset)
		}
		if err := r.skip(offset - r.pos); err != nil {
			return nil, err
		}
	}
	var h [8]byte
	if err := r.read(h[:]); err != nil {
		return nil, err
	}
	length := int64(binary.BigEndian.Uint32(h[4:8])) * 2
	end := r.pos + length
	if end > r.shpSize {
		return nil, r.truncated(end)
	}
	if length < 4 {
		return nil, r.fail("is damaged (%d bytes long): re-export the layer", length)
	}
	g, err := r.parseShape(length)
	if err != nil {
		return nil, err
	}
	// Z and M values, and anything else after the coordinates, are skipped.
	return g, r.skip(end - r.pos)
}

func (r *shpReader) truncated(end int64) error {
	return r.fail("ends at byte %d but %s has only %d bytes: the file is truncated; copy the complete file again, or re-export the layer", end, r.set.display, r.shpSize)
}

// read fills b from the .shp.
func (r *shpReader) read(b []byte) error {
	n, err := io.ReadFull(r.shp, b)
	r.pos += int64(n)
	if err != nil {
		return r.readErr(r.set.display, err)
	}
	return nil
}

func (r *shpReader) skip(n int64) error {
	if n <= 0 {
		return nil
	}
	k, err := io.CopyN(io.Discard, r.shp, n)
	r.pos += k
	if err != nil {
		return r.readErr(r.set.display, err)
	}
	return nil
}

func (r *shpReader) readErr(name string, err error) error {
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return r.fail("is cut short in %s: the file is truncated; copy the complete file again, or re-export the layer", name)
	case errors.Is(err, zip.ErrChecksum), errors.Is(err, zip.ErrFormat):
		return zipReadError(r.set.display, name, err)
	}
	return geo.WrapError(geo.EINVALID, err, "%s: cannot read record %d", name, r.n)
}

// parseShape decodes one record's content of length bytes. It checks the
// counts in the record against its length and against the vertex limit
// before reading the coordinates, so no record can make it allocate more
// than the limit allows.
func (r *shpReader) parseShape(length int64) (orb.Geometry, error) {
	var t [4]byte
	if err := r.read(t[:]); err != nil {
		return nil, err
	}
	typ := binary.LittleEndian.Uint32(t[:])
	switch typ {
	case 0:
		return nil, nil
	case 1, 11, 21:
		if length < 20 {
			return nil, r.fail("is damaged (a point record of %d bytes): re-export the layer", length)
		}
		b, err := r.bytes(16)
		if err != nil {
			return nil, err
		}
		return orb.Point{f64(b[0:]), f64(b[8:])}, nil
	case 8, 18, 28:
		var h [36]byte // box, count
		if length < 40 {
			return nil, r.fail("is damaged (a multipoint record of %d bytes): re-export the layer", length)
		}
		if err := r.read(h[:]); err != nil {
			return nil, err
		}
		np := int64(binary.LittleEndian.Uint32(h[32:36]))
		if np > int64(r.maxV) {
			return nil, r.fail("%s", tooManyVertices(int(min(np, math.MaxInt32)), r.maxV))
		}
		if 40+16*np > length {
			return nil, r.fail("is damaged (%d points do not fit in %d bytes): re-export the layer", np, length)
		}
		pts, err := r.points(int(np))
		if err != nil || np == 0 {
			return nil, err
		}
		return orb.MultiPoint(pts), nil
	case 3, 13, 23, 5, 15, 25:
		var h [40]byte // box, parts, points
		if length < 44 {
			return nil, r.fail("is damaged (a %s record of %d bytes): re-export the layer", shapeTypeNames[typ], length)
		}
		if err := r.read(h[:]); err != nil {
			return nil, err
		}
		nparts := int64(binary.LittleEndian.Uint32(h[32:36]))
		np := int64(binary.LittleEndian.Uint32(h[36:40]))
		if np > int64(r.maxV) {
			return nil, r.fail("%s", tooManyVertices(int(min(np, math.MaxInt32)), r.maxV))
		}
		if nparts > np || 44+4*nparts+16*np > length {
			return nil, r.fail("is damaged (%d parts and %d points do not fit in %d bytes): re-export the layer", nparts, np, length)
		}
		if np == 0 {
			return nil, r.skip(4 * nparts)
		}
		pb, err := r.bytes(int(4 * nparts))
		if err != nil {
			return nil, err
		}
		parts := make([]int, nparts+1)
		for i := range nparts {
			parts[i] = int(binary.LittleEndian.Uint32(pb[4*i:]))
			if parts[i] >= int(np) || (i > 0 && parts[i] < parts[i-1]) {
				return nil, r.fail("is damaged (part %d starts at point %d of %d): re-export the layer", i+1, parts[i], np)
			}
		}
		parts[nparts] = int(np)
		pts, err := r.points(int(np))
		if err != nil {
			return nil, err
		}
		if typ%10 == 3 {
			var lines orb.MultiLineString
			for i := range nparts {
				if l := pts[parts[i]:parts[i+1]:parts[i+1]]; len(l) > 0 {
					lines = append(lines, orb.LineString(l))
				}
			}
			if len(lines) == 1 {
				return lines[0], nil
			}
			return lines, nil
		}
		var rings []orb.Ring
		for i := range nparts {
			if ring := pts[parts[i]:parts[i+1]:parts[i+1]]; len(ring) > 0 {
				rings = append(rings, closeRing(orb.Ring(ring)))
			}
		}
		return assembleRings(rings), nil
	case 31:
		return nil, r.fail("is a MultiPatch (a 3D surface), which gridd does not read: export the layer as 2D polygons")
	}
	return nil, r.fail("has unknown shape type %d: the file is damaged; re-export the layer", typ)
}

// bytes reads n bytes into the reader's reusable buffer.
func (r *shpReader) bytes(n int) ([]byte, error) {
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	b := r.buf[:n]
	return b, r.read(b)
}

// points reads n XY pairs.
func (r *shpReader) points(n int) ([]orb.Point, error) {
	b, err := r.bytes(16 * n)
	if err != nil {
		return nil, err
	}
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{f64(b[16*i:]), f64(b[16*i+8:])}
	}
	return pts, nil
}

func f64(b []byte) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b)) }
