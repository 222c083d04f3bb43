package importers

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb/geojson"
)

// geojsonReader streams a FeatureCollection (features decoded one at a
// time) or newline-delimited GeoJSON features.
type geojsonReader struct {
	f    *os.File
	path string
	dec  *json.Decoder
	info Info
	n    int  // features read so far
	ndjs bool // newline-delimited
	done bool
	// first holds the first feature of an ND file, read while sniffing.
	first json.RawMessage
	maxV  int
	guard *jsonGuard
}

// jsonGuard stops the JSON decoder from buffering one value beyond the
// limit: json.Decoder reads a whole feature into memory before decoding
// it, so a feature with millions of vertices would be read whole before
// its vertices could be counted.
type jsonGuard struct {
	r     io.Reader
	dec   *json.Decoder
	read  int64
	limit int64
	hit   bool
}

var errFeatureTooLarge = errors.New("feature too large")

func (g *jsonGuard) Read(p []byte) (int, error) {
	if g.hit {
		return 0, errFeatureTooLarge
	}
	// json.Decoder asks for as much as its buffer can take, which doubles;
	// reading at most 1 MB at a time keeps the overshoot small.
	n, err := g.r.Read(p[:min(len(p), 1<<20)])
	g.read += int64(n)
	if g.dec != nil && g.read-g.dec.InputOffset() > g.limit {
		g.hit = true
		return n, errFeatureTooLarge
	}
	return n, err
}

func newGeoJSONReader(f *os.File, path string, opts Options) (Reader, error) {
	r := &geojsonReader{f: f, path: path, info: Info{Format: "geojson", Encoding: "UTF-8"}, maxV: opts.maxVertices()}
	br := bufio.NewReaderSize(f, 1<<20)
	// About 30 bytes make a vertex in GeoJSON; 64 leaves room for
	// properties and pretty-printing.
	r.guard = &jsonGuard{r: br, limit: max(int64(16<<20), 64*int64(r.maxV))}
	r.dec = json.NewDecoder(r.guard)
	r.guard.dec = r.dec
	if err := r.start(br); err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func (r *geojsonReader) Info() Info   { return r.info }
func (r *geojsonReader) Close() error { return r.f.Close() }

func (r *geojsonReader) fail(format string, args ...any) error {
	if r.guard.hit {
		return geo.Errorf(geo.ETOOLARGE, "%s: feature %d is larger than %s, more than a feature within the vertex limit can be: simplify or split it", r.path, r.n+1, byteSize(r.guard.limit))
	}
	return geo.Errorf(geo.EINVALID, "%s: %s", r.path, fmt.Sprintf(format, args...))
}

// start decides between newline-delimited features and a FeatureCollection
// and reads up to the first feature. A collection is read token by token so
// that only one feature at a time is in memory; a "crs" member is honoured
// when it comes before "features", as every exporter writes it.
func (r *geojsonReader) start(br *bufio.Reader) error {
	if line, err := br.Peek(br.Size()); len(line) > 0 && (err == nil || errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull)) {
		if i := bytes.IndexByte(line, '\n'); i >= 0 || errors.Is(err, io.EOF) {
			if i >= 0 {
				line = line[:i]
			}
			var head struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(line, &head) == nil && head.Type == "Feature" {
				r.ndjs = true
				var first json.RawMessage
				if err := r.dec.Decode(&first); err != nil {
					return r.fail("feature 1: %v", jsonErr(err))
				}
				r.first = first
				return r.readFields(first)
			}
		}
	}
	tok, err := r.dec.Token()
	if err != nil {
		return r.fail("not valid JSON: %v", jsonErr(err))
	}
	if tok != json.Delim('{') {
		return r.fail("not a GeoJSON object")
	}
	for r.dec.More() {
		tok, err := r.dec.Token()
		if err != nil {
			return r.fail("%v", jsonErr(err))
		}
		key, _ := tok.(string)
		switch key {
		case "type":
			var t string
			if err := r.dec.Decode(&t); err != nil || t != "FeatureCollection" {
				return r.fail("top-level type %q: want a FeatureCollection, or one Feature per line", t)
			}
		case "crs":
			var crs struct {
				Properties struct {
					Name string `json:"name"`
				} `json:"properties"`
			}
			if err := r.dec.Decode(&crs); err != nil {
				return r.fail("bad crs member: %v", jsonErr(err))
			}
			r.info.SRS = normalizeCRSName(crs.Properties.Name)
		case "features":
			tok, err := r.dec.Token()
			if err != nil {
				return r.fail("%v", jsonErr(err))
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return r.fail("\"features\" is not an array")
			}
			return r.peekFields()
		default:
			var skip json.RawMessage
			if err := r.dec.Decode(&skip); err != nil {
				return r.fail("%v", jsonErr(err))
			}
		}
	}
	return r.fail("no \"features\" array: want a FeatureCollection")
}

// peekFields reads the first feature ahead to learn attribute names.
func (r *geojsonReader) peekFields() error {
	if !r.dec.More() {
		r.done = true
		return nil
	}
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		return r.fail("feature 1: %v", jsonErr(err))
	}
	r.first = raw
	return r.readFields(raw)
}

func (r *geojsonReader) readFields(raw json.RawMessage) error {
	// Keep the file's order of property names.
	var f struct {
		Properties json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal(raw, &f); err != nil {
		return r.fail("feature 1: %v", jsonErr(err))
	}
	dec := json.NewDecoder(bytes.NewReader(f.Properties))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil // null or absent properties
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		r.info.Fields = append(r.info.Fields, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil
		}
	}
	return nil
}

func (r *geojsonReader) Next() (geo.Feature, error) {
	raw, err := r.nextRaw()
	if err != nil {
		return geo.Feature{}, err
	}
	r.n++
	gf, err := geojson.UnmarshalFeature(raw)
	if err != nil {
		return geo.Feature{}, r.fail("feature %d: %v", r.n, jsonErr(err))
	}
	if gf.Geometry == nil {
		return geo.Feature{}, r.fail("feature %d has no geometry", r.n)
	}
	if msg := checkGeometry(gf.Geometry, r.maxV); msg != "" {
		return geo.Feature{}, r.fail("feature %d %s", r.n, msg)
	}
	props := map[string]any(gf.Properties)
	if props == nil {
		props = map[string]any{}
	}
	return geo.Feature{Props: props, Geometry: gf.Geometry}, nil
}

func (r *geojsonReader) nextRaw() (json.RawMessage, error) {
	if r.first != nil {
		raw := r.first
		r.first = nil
		return raw, nil
	}
	if r.done {
		return nil, io.EOF
	}
	if r.ndjs {
		var raw json.RawMessage
		if err := r.dec.Decode(&raw); err != nil {
			if errors.Is(err, io.EOF) {
				r.done = true
				return nil, io.EOF
			}
			return nil, r.fail("feature %d: %v", r.n+1, jsonErr(err))
		}
		return raw, nil
	}
	if !r.dec.More() {
		r.done = true
		return nil, io.EOF
	}
	var raw json.RawMessage
	if err := r.dec.Decode(&raw); err != nil {
		return nil, r.fail("feature %d: %v", r.n+1, jsonErr(err))
	}
	return raw, nil
}

// normalizeCRSName turns "urn:ogc:def:crs:EPSG::4490" or "EPSG:4490" into
// "EPSG:4490"; CRS84 is EPSG:4326 with lon/lat order, which is what gridd
// reads anyway.
func normalizeCRSName(name string) string {
	n := strings.ToUpper(strings.TrimSpace(name))
	switch {
	case n == "":
		return ""
	case strings.HasSuffix(n, "CRS84"):
		return "EPSG:4326"
	case strings.Contains(n, "EPSG"):
		i := strings.LastIndex(n, ":")
		return "EPSG:" + n[i+1:]
	}
	return name
}

func jsonErr(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "the file ends in the middle of a JSON value (truncated?)"
	}
	return err.Error()
}
