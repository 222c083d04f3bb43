package importers

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// KML is read with encoding/xml's token stream, one Placemark at a time, so
// a file of any size streams. Its coordinates are lon,lat[,alt] on WGS 84.

// maxKMLText bounds a name, description or attribute value kept from a KML
// file; a description can be a whole HTML page, but not a gigabyte.
const maxKMLText = 1 << 20

// errTokenTooLarge stops the XML decoder when a single element's text would
// not fit the limit. encoding/xml reads a whole text node into memory
// before returning it, so the limit has to act underneath it.
var errTokenTooLarge = errors.New("an element's text is too large")

// guardReader counts bytes handed to the XML decoder and fails once more
// than limit have been read since the decoder last returned a token.
type guardReader struct {
	r           io.Reader
	read, mark  int64
	limit       int64
	tooLargeErr bool
}

func (g *guardReader) Read(p []byte) (int, error) {
	if g.tooLargeErr {
		return 0, errTokenTooLarge
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	if g.read-g.mark > g.limit {
		g.tooLargeErr = true
		return n, errTokenTooLarge
	}
	return n, err
}

// kmlReader streams the Placemarks of a KML document.
type kmlReader struct {
	name    string // for messages
	dec     *xml.Decoder
	guard   *guardReader
	closers []io.Closer
	info    Info
	maxV    int
	n       int           // placemarks read
	ahead   []geo.Feature // read by lookAhead, not yet returned
	keys    []string      // attribute names of the last placemark, in order
	done    bool

	schema []string          // Schema/SimpleField names met so far
	types  map[string]string // SimpleField name -> its type
	found  kmlFound          // what the placemarks were, for "no polygons"
	// advance, when set, moves the reader to the next KML of an archive
	// at the end of one; it reports false when there is none.
	advance func() (bool, error)
	// link, when set, takes a NetworkLink's href and says whether it
	// will be read (a file inside the KMZ).
	link func(href string) bool
}

// openKML opens a .kml file.
func openKML(p string, opts Options) (Reader, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", p)
	}
	r, err := newKMLReader(f, p, "kml", opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closers = append(r.closers, f)
	return r, nil
}

// newKMLReader starts reading KML from src and reads ahead to the first
// polygon Placemark to learn the attribute names.
func newKMLReader(src io.Reader, name, format string, opts Options) (*kmlReader, error) {
	r := &kmlReader{maxV: opts.maxVertices(), info: Info{Format: format, SRS: "EPSG:4326", Encoding: "UTF-8"}, types: map[string]string{}}
	r.setSource(src, name)
	if err := r.lookAhead(); err != nil {
		return nil, err
	}
	return r, nil
}

// setSource points the reader at one KML document; a KMZ's linked files
// are read through the same reader one after the other.
func (r *kmlReader) setSource(src io.Reader, name string) {
	limit := max(int64(16<<20), 64*int64(r.maxV))
	g := &guardReader{r: src, limit: limit}
	br := bufio.NewReaderSize(g, 1<<16)
	// encoding/xml does not skip a byte-order mark.
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	r.name, r.guard = name, g
	r.dec = xml.NewDecoder(br)
	// HTML entities (&nbsp;) are common in descriptions written by hand.
	r.dec.Entity = xml.HTMLEntity
	// Some Chinese tools write KML in GBK and say so in the declaration.
	r.dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		cs, ok := lookupCharset(label)
		if !ok {
			return nil, fmt.Errorf("unknown encoding %q in the XML declaration", label)
		}
		r.info.Encoding = cs.name
		if cs.enc == nil {
			return in, nil
		}
		return cs.enc.NewDecoder().Reader(in), nil
	}
}

// maxLookAhead bounds the point and line placemarks kept while looking for
// the first polygon; past it the reader stops looking and lets the caller
// name the first one that is not a polygon.
const maxLookAhead = 10000

// lookAhead reads up to the first polygon Placemark, keeping the ones
// before it, so that the fields are known and a file with no polygon at all
// is named as such in one line.
func (r *kmlReader) lookAhead() error {
	for {
		f, err := r.next(&r.schema)
		if err == io.EOF {
			r.done = true
			return r.noPolygons()
		}
		if err != nil {
			return err
		}
		r.ahead = append(r.ahead, f)
		if isPolygonal(f.Geometry) || len(r.ahead) >= maxLookAhead {
			break
		}
	}
	r.info.Fields = kmlFields(r.schema, r.keys)
	return nil
}

// kmlFields lists attribute names: name and description first, then the
// schema's fields, then the first placemark's other data, without repeats.
func kmlFields(schema, keys []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, k := range []string{"name", "description"} {
		if contains(keys, k) {
			add(k)
		}
	}
	for _, s := range schema {
		add(s)
	}
	for _, k := range keys {
		add(k)
	}
	return out
}

func (r *kmlReader) Info() Info { return r.info }

func (r *kmlReader) Close() error {
	var first error
	for _, c := range r.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	r.closers = nil
	return first
}

func (r *kmlReader) Next() (geo.Feature, error) {
	if len(r.ahead) > 0 {
		f := r.ahead[0]
		r.ahead = r.ahead[1:]
		return f, nil
	}
	if r.done {
		return geo.Feature{}, io.EOF
	}
	f, err := r.next(nil)
	if err == io.EOF {
		r.done = true
	}
	return f, err
}

// token returns the next XML token, copied (the decoder reuses its
// buffers), with the decoder's errors worded for people.
func (r *kmlReader) token() (xml.Token, error) {
	r.guard.mark = r.guard.read
	tok, err := r.dec.Token()
	if err == nil {
		return xml.CopyToken(tok), nil
	}
	if err == io.EOF {
		return nil, io.EOF
	}
	line, _ := r.dec.InputPos()
	switch {
	case r.guard.tooLargeErr:
		return nil, r.tooLarge()
	case strings.Contains(err.Error(), "invalid UTF-8"):
		return nil, geo.Errorf(geo.EINVALID, "%s: line %d: the text is not valid UTF-8: if the file is in GBK, its first line must say <?xml version=\"1.0\" encoding=\"GBK\"?>", r.name, line)
	}
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return nil, geo.Errorf(geo.EINVALID, "%s: line %d: %s: the file is damaged or not KML", r.name, se.Line, se.Msg)
	}
	if errors.Is(err, zip.ErrChecksum) || errors.Is(err, zip.ErrFormat) {
		return nil, zipReadError(r.name, r.name, err)
	}
	return nil, geo.WrapError(geo.EINVALID, err, "%s: line %d: cannot read the KML", r.name, line)
}

// next reads up to the end of the next Placemark and returns it. When
// schema is not nil, the names of Schema/SimpleField elements met on the
// way are appended to it.
func (r *kmlReader) next(schema *[]string) (geo.Feature, error) {
	for {
		tok, err := r.token()
		if err == io.EOF && r.advance != nil {
			more, aerr := r.advance()
			if aerr != nil {
				return geo.Feature{}, aerr
			}
			if more {
				continue
			}
		}
		if err != nil {
			return geo.Feature{}, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch se.Name.Local {
		case "Placemark":
			r.n++
			return r.placemark()
		case "NetworkLink":
			if err := r.networkLink(); err != nil {
				return geo.Feature{}, err
			}
		case "SimpleField":
			if n := attr(se, "name"); n != "" {
				if schema != nil && !contains(*schema, n) {
					*schema = append(*schema, n)
				}
				r.types[n] = strings.ToLower(attr(se, "type"))
			}
		}
	}
}

// tooLarge is the error for text beyond the guard's limit.
func (r *kmlReader) tooLarge() error {
	line, _ := r.dec.InputPos()
	return geo.Errorf(geo.ETOOLARGE, "%s: line %d: an element holds more than %s of text, more than a feature within the vertex limit can: simplify or split the layer", r.name, line, byteSize(r.guard.limit))
}

func attr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return strings.TrimSpace(a.Value)
		}
	}
	return ""
}

// kmlPlacemark gathers one Placemark while its tokens stream by.
type kmlPlacemark struct {
	props    map[string]any
	keys     []string // attribute names in the order met
	geoms    []orb.Geometry
	outer    orb.Ring   // of the Polygon being read
	inners   []orb.Ring // of the Polygon being read
	inPoly   bool
	vertices int
}

// placemark reads from just after <Placemark> to its end tag.
func (r *kmlReader) placemark() (geo.Feature, error) {
	pm := &kmlPlacemark{props: map[string]any{}}
	var stack []string // element names inside the Placemark
	var text []byte    // text of the element being read
	var dataName string
	for {
		tok, err := r.token()
		if err == io.EOF {
			return geo.Feature{}, r.fail(pm, "is not closed: the file is truncated")
		}
		if err != nil {
			return geo.Feature{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := t.Name.Local
			stack = append(stack, n)
			text = text[:0]
			switch n {
			case "Data", "SimpleData":
				dataName = attr(t, "name")
				if n == "SimpleData" && dataName == "" {
					dataName = "data"
				}
			case "Polygon":
				pm.outer, pm.inners, pm.inPoly = nil, nil, true
			}
		case xml.CharData:
			if int64(len(text)+len(t)) > r.guard.limit {
				return geo.Feature{}, r.tooLarge()
			}
			text = append(text, t...)
		case xml.EndElement:
			if len(stack) == 0 { // </Placemark>
				return r.finish(pm)
			}
			n := stack[len(stack)-1]
			parent := ""
			if len(stack) > 1 {
				parent = stack[len(stack)-2]
			}
			stack = stack[:len(stack)-1]
			if err := r.end(pm, n, parent, stack, text, dataName); err != nil {
				return geo.Feature{}, err
			}
			text = text[:0]
		}
	}
}

// end handles the end of element n (whose parent is parent) with text.
func (r *kmlReader) end(pm *kmlPlacemark, n, parent string, stack []string, text []byte, dataName string) error {
	switch n {
	case "name", "description":
		if len(stack) == 0 { // a direct child of the Placemark
			pm.set(n, kmlText(text))
		}
	case "value":
		if parent == "Data" && dataName != "" {
			pm.set(dataName, kmlText(text))
		}
	case "SimpleData":
		if dataName != "" {
			pm.set(dataName, kmlText(text))
		}
	case "coordinates":
		pts, err := parseKMLCoordinates(text, r.maxV-pm.vertices)
		if err != nil {
			if errors.As(err, new(errTooManyVertices)) {
				return r.fail(pm, overVertexLimit(r.maxV))
			}
			return r.fail(pm, "has bad coordinates ("+err.Error()+"): write them as lon,lat[,alt] separated by spaces")
		}
		pm.vertices += len(pts)
		switch {
		case parent == "LinearRing" && pm.inPoly && contains(stack, "innerBoundaryIs"):
			pm.inners = append(pm.inners, closeRing(orb.Ring(pts)))
		case parent == "LinearRing" && pm.inPoly && contains(stack, "outerBoundaryIs"):
			if pm.outer != nil {
				return r.fail(pm, "has a Polygon with two outer boundaries: make them two polygons of a MultiGeometry")
			}
			pm.outer = closeRing(orb.Ring(pts))
		case parent == "Point":
			if len(pts) != 1 {
				return r.fail(pm, fmt.Sprintf("has a Point with %d coordinates", len(pts)))
			}
			pm.geoms = append(pm.geoms, pts[0])
		case parent == "LineString" || parent == "LinearRing":
			pm.geoms = append(pm.geoms, orb.LineString(pts))
		}
	case "Polygon":
		if pm.outer == nil {
			return r.fail(pm, "has a Polygon without an outerBoundaryIs: draw its boundary")
		}
		pm.geoms = append(pm.geoms, append(orb.Polygon{pm.outer}, pm.inners...))
		pm.outer, pm.inners, pm.inPoly = nil, nil, false
	}
	return nil
}

func (pm *kmlPlacemark) set(k, v string) {
	if _, ok := pm.props[k]; !ok {
		pm.keys = append(pm.keys, k)
	}
	pm.props[k] = v
}

func contains(stack []string, s string) bool {
	for _, e := range stack {
		if e == s {
			return true
		}
	}
	return false
}

// kmlText trims a text value and caps its length.
func kmlText(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > maxKMLText {
		b = b[:maxKMLText]
	}
	return strings.ToValidUTF8(string(b), "")
}

// finish turns a Placemark's geometries into one. Points and lines beside
// polygons in a MultiGeometry (labels, centre points) are dropped; a
// MultiGeometry of polygons becomes a MultiPolygon (of points a MultiPoint,
// of lines a MultiLineString); a lone point or line stays what it is, so the
// caller can name the feature that is not a polygon.
func (r *kmlReader) finish(pm *kmlPlacemark) (geo.Feature, error) {
	var mp orb.MultiPolygon
	var mpt orb.MultiPoint
	var ml orb.MultiLineString
	for _, x := range pm.geoms {
		switch x := x.(type) {
		case orb.Polygon:
			mp = append(mp, x)
		case orb.Point:
			mpt = append(mpt, x)
		case orb.LineString:
			ml = append(ml, x)
		}
	}
	var g orb.Geometry
	switch {
	case len(pm.geoms) == 0:
		return geo.Feature{}, r.fail(pm, "has no geometry: draw its boundary or delete it")
	case len(mp) == 1:
		g = mp[0]
	case len(mp) > 1:
		g = mp
	case len(pm.geoms) == 1:
		g = pm.geoms[0]
	case len(pm.geoms) == len(mpt):
		g = mpt
	case len(pm.geoms) == len(ml):
		g = ml
	default:
		g = orb.Collection(pm.geoms)
	}
	r.found.count(g)
	if msg := checkGeometry(g, r.maxV); msg != "" {
		return geo.Feature{}, r.fail(pm, msg)
	}
	r.keys = pm.keys
	r.typeValues(pm.props)
	return geo.Feature{Props: pm.props, Geometry: g}, nil
}

// fail names the placemark by number and, when it has one, by name.
func (r *kmlReader) fail(pm *kmlPlacemark, msg string) error {
	if name, _ := pm.props["name"].(string); name != "" {
		return geo.Errorf(geo.EINVALID, "%s: placemark %d (%s) %s", r.name, r.n, printable(truncate(name, 60)), msg)
	}
	return geo.Errorf(geo.EINVALID, "%s: placemark %d %s", r.name, r.n, msg)
}

// parseKMLCoordinates reads "lon,lat[,alt]" tuples separated by white
// space. Spaces around the commas, which hand-edited files have, are
// allowed. At most max points are read.
func parseKMLCoordinates(b []byte, max int) ([]orb.Point, error) {
	var pts []orb.Point
	var tuple [2]float64
	k := 0
	i := 0
	isSpace := func(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
	for {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		if i >= len(b) {
			break
		}
		j := i
		for j < len(b) && !isSpace(b[j]) && b[j] != ',' {
			j++
		}
		if j == i {
			return nil, fmt.Errorf("an empty number before byte %d", i)
		}
		v, err := strconv.ParseFloat(string(b[i:j]), 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", truncate(string(b[i:j]), 20))
		}
		if k < 2 {
			tuple[k] = v
		}
		k++
		i = j
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		if j < len(b) && b[j] == ',' {
			i = j + 1
			continue
		}
		if k < 2 {
			return nil, fmt.Errorf("a coordinate with only one number")
		}
		if len(pts) >= max {
			return nil, errTooManyVertices{len(pts) + 1, max}
		}
		pts = append(pts, orb.Point{tuple[0], tuple[1]})
		k = 0
	}
	if k != 0 {
		return nil, fmt.Errorf("a coordinate with only one number")
	}
	return pts, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
