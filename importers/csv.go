package importers

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
	"golang.org/x/text/transform"
)

// CSV files come from Excel and from database exports: geometry as a WKT
// column, or points as longitude and latitude columns. Excel on Chinese
// Windows saves CSV in GBK, so the encoding is detected as for DBF tables:
// a UTF-8 byte-order mark, else all valid UTF-8, else all valid GB18030.

// Column names that hold geometry, compared without regard to case.
var (
	wktNames = []string{"wkt", "geometry", "geom", "the_geom", "shape", "wkt_geom", "几何", "空间数据"}
	lonNames = []string{"lon", "lng", "long", "longitude", "x", "point_x", "经度", "东经"}
	latNames = []string{"lat", "latitude", "y", "point_y", "纬度", "北纬"}
)

// csvReader streams the rows of a CSV file.
type csvReader struct {
	name   string
	closer io.Closer
	cr     *csv.Reader
	guard  *csvGuard
	info   Info
	maxV   int
	header []string
	wkt    int // column indexes; -1 when unused
	lon    int
	lat    int
	first  *geo.Feature
	done   bool
	line   int // line of the last record read
}

// openCSV opens a .csv file.
func openCSV(p string, opts Options) (Reader, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", p)
	}
	r, err := newCSVReader(f, p, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// csvGuard stops csv.Reader from buffering a record beyond the limit:
// csv.Reader reads a whole record into memory, and a hostile file can be
// one endless quoted field. The reader sets mark after every record; more
// than limit bytes read since then is one record too many.
type csvGuard struct {
	r          io.Reader
	read, mark int64
	limit      int64
	hit        bool
}

var errRecordTooLarge = errors.New("record too large")

func (g *csvGuard) Read(p []byte) (int, error) {
	if g.hit {
		return 0, errRecordTooLarge
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	if g.read-g.mark > g.limit {
		g.hit = true
		return n, errRecordTooLarge
	}
	return n, err
}

// newCSVReader reads src twice: once to settle the encoding (every line
// checked), then for real.
func newCSVReader(src io.ReadSeeker, name string, opts Options) (*csvReader, error) {
	r := &csvReader{name: name, maxV: opts.maxVertices(), wkt: -1, lon: -1, lat: -1, info: Info{Format: "csv"}}
	limit := max(int64(1<<20), 64*int64(opts.maxVertices()))
	text, err := openCSVText(src, name, opts.Encoding, limit, "more than a feature within the vertex limit needs: simplify or split it")
	if err != nil {
		return nil, err
	}
	r.info.Encoding = text.encoding
	r.guard = &csvGuard{r: text.r, limit: limit}
	r.cr = csv.NewReader(r.guard)
	r.cr.Comma = text.comma
	r.cr.FieldsPerRecord = -1
	r.cr.ReuseRecord = true

	header, err := r.record()
	if err == io.EOF {
		return nil, geo.Errorf(geo.EINVALID, "%s is empty: it needs a header line naming its columns", name)
	}
	if err != nil {
		return nil, err
	}
	if err := r.columns(header, opts); err != nil {
		return nil, err
	}
	f, err := r.read()
	switch {
	case err == io.EOF:
		r.done = true
	case err != nil:
		return nil, err
	default:
		r.first = &f
	}
	return r, nil
}

// csvText is a CSV file's text, decoded, after its byte-order mark.
type csvText struct {
	r        io.Reader
	encoding string
	comma    rune
}

// openCSVText reads src twice: once to settle the encoding (every line
// checked) and the delimiter, then rewinds it for the records. tooLong
// ends the message about a line longer than limit.
func openCSVText(src io.ReadSeeker, name, encoding string, limit int64, tooLong string) (csvText, error) {
	br := bufio.NewReaderSize(src, 1<<16)
	head, _ := br.Peek(3)
	bom := bytes.HasPrefix(head, []byte("\xef\xbb\xbf"))
	if bytes.HasPrefix(head, []byte("\xff\xfe")) || bytes.HasPrefix(head, []byte("\xfe\xff")) {
		return csvText{}, geo.Errorf(geo.EINVALID, "%s is in UTF-16 (Excel's \"Unicode text\"): save it as \"CSV UTF-8\" or plain CSV", name)
	}
	hint := encodingHint{option: encoding, bom: bom}
	decl, err := hint.declare()
	if err != nil {
		return csvText{}, err
	}
	sniff := newTextSniffer(decl.cs, func(n int, _ string) string { return fmt.Sprintf("line %d", n) })
	var firstLine []byte
	for n := 1; ; n++ {
		line, err := readLine(br, limit)
		if errors.Is(err, errRecordTooLarge) {
			return csvText{}, geo.Errorf(geo.ETOOLARGE, "%s: line %d is longer than %s, %s", name, n, byteSize(limit), tooLong)
		}
		if n == 1 {
			firstLine = append([]byte(nil), bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))...)
		}
		sniff.add(line, false, n, "")
		if err == io.EOF {
			break
		}
		if err != nil {
			return csvText{}, geo.WrapError(geo.EINVALID, err, "cannot read %s", name)
		}
	}
	cs, err := chooseCharset(name, decl, sniff)
	if err != nil {
		return csvText{}, err
	}

	start := int64(0)
	if bom {
		start = 3
	}
	if _, err := src.Seek(start, io.SeekStart); err != nil {
		return csvText{}, geo.WrapError(geo.EINVALID, err, "cannot read %s", name)
	}
	var text io.Reader = src
	if cs.enc != nil {
		text = transform.NewReader(text, cs.enc.NewDecoder())
	}
	return csvText{r: text, encoding: cs.name, comma: sniffDelimiter(firstLine)}, nil
}

// readLine returns the next line including its newline, failing when it
// is longer than limit.
func readLine(br *bufio.Reader, limit int64) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err != bufio.ErrBufferFull {
		return line, err
	}
	buf := append([]byte(nil), line...)
	for err == bufio.ErrBufferFull {
		if int64(len(buf)) > limit {
			return nil, errRecordTooLarge
		}
		line, err = br.ReadSlice('\n')
		buf = append(buf, line...)
	}
	return buf, err
}

// sniffDelimiter picks the separator from the header line: a comma if it
// has one outside quotes, else a tab, else a semicolon (European Excel).
func sniffDelimiter(line []byte) rune {
	var commas, tabs, semis int
	quoted := false
	for _, c := range line {
		switch {
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == ',':
			commas++
		case c == '\t':
			tabs++
		case c == ';':
			semis++
		}
	}
	switch {
	case commas > 0:
		return ','
	case tabs > 0:
		return '\t'
	case semis > 0:
		return ';'
	}
	return ','
}

// record reads one CSV record, wording errors with the line.
func (r *csvReader) record() ([]string, error) {
	rec, err := r.cr.Read()
	if err == nil {
		r.line, _ = r.cr.FieldPos(0)
		r.guard.mark = r.guard.read
		return rec, nil
	}
	if err == io.EOF {
		return nil, io.EOF
	}
	if r.guard.hit {
		return nil, geo.Errorf(geo.ETOOLARGE, "%s: the record after line %d is longer than %s, more than a feature within the vertex limit needs (an unclosed quote?): simplify or split it", r.name, r.line, byteSize(r.guard.limit))
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, geo.Errorf(geo.EINVALID, "%s: line %d: %v: fix the quoting of that line", r.name, pe.Line, pe.Err)
	}
	return nil, geo.WrapError(geo.EINVALID, err, "cannot read %s", r.name)
}

// columns finds the geometry columns and the attribute names.
func (r *csvReader) columns(rec []string, opts Options) error {
	seen := map[string]bool{}
	for i, h := range rec {
		h = strings.TrimSpace(h)
		// Column names end up in messages and attribute keys; a control
		// character in one is an accident of the export.
		h = printable(h)
		if h == "" {
			h = fmt.Sprintf("column%d", i+1)
		}
		base := h
		for k := 2; seen[strings.ToLower(h)]; k++ {
			h = fmt.Sprintf("%s_%d", base, k)
		}
		seen[strings.ToLower(h)] = true
		r.header = append(r.header, h)
	}
	find := func(flag, given string, guesses []string) (int, error) {
		if given != "" {
			for i, h := range r.header {
				if strings.EqualFold(h, strings.TrimSpace(given)) {
					return i, nil
				}
			}
			return -1, geo.Errorf(geo.EINVALID, "%s: --%s %q is not a column of this file; its columns are: %s", r.name, flag, given, strings.Join(r.header, ", "))
		}
		for _, g := range guesses {
			for i, h := range r.header {
				if strings.EqualFold(h, g) {
					return i, nil
				}
			}
		}
		return -1, nil
	}
	var err error
	if opts.LonField == "" && opts.LatField == "" {
		if r.wkt, err = find("wkt-field", opts.WKTField, wktNames); err != nil {
			return err
		}
	}
	if r.wkt < 0 {
		if r.lon, err = find("lon-field", opts.LonField, lonNames); err != nil {
			return err
		}
		if r.lat, err = find("lat-field", opts.LatField, latNames); err != nil {
			return err
		}
		if r.lon < 0 || r.lat < 0 {
			return geo.Errorf(geo.EINVALID, "%s has no geometry column: name a WKT column with --wkt-field, or the point columns with --lon-field and --lat-field; its columns are: %s", r.name, strings.Join(r.header, ", "))
		}
	}
	for i, h := range r.header {
		if i != r.wkt && i != r.lon && i != r.lat {
			r.info.Fields = append(r.info.Fields, h)
		}
	}
	return nil
}

func (r *csvReader) Info() Info { return r.info }

func (r *csvReader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

func (r *csvReader) Next() (geo.Feature, error) {
	if r.first != nil {
		f := *r.first
		r.first = nil
		return f, nil
	}
	if r.done {
		return geo.Feature{}, io.EOF
	}
	f, err := r.read()
	if err == io.EOF {
		r.done = true
	}
	return f, err
}

func (r *csvReader) fail(format string, args ...any) error {
	return geo.Errorf(geo.EINVALID, "%s: line %d %s", r.name, r.line, fmt.Sprintf(format, args...))
}

// read reads the next row as a feature.
func (r *csvReader) read() (geo.Feature, error) {
	rec, err := r.record()
	if err != nil {
		return geo.Feature{}, err
	}
	if len(rec) > len(r.header) {
		extra := rec[len(r.header):]
		if strings.TrimSpace(strings.Join(extra, "")) != "" {
			return geo.Feature{}, r.fail("has %d values but the header names %d columns: quote values that contain the separator", len(rec), len(r.header))
		}
	}
	cell := func(i int) string {
		if i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var g orb.Geometry
	if r.wkt >= 0 {
		s := cell(r.wkt)
		if s == "" {
			return geo.Feature{}, r.fail("has no geometry (column %s is empty): draw it or delete the line", r.header[r.wkt])
		}
		var srid int
		if g, srid, err = parseWKT(s, r.maxV); err != nil {
			return geo.Feature{}, r.fail("%s", err)
		}
		if srid > 0 && r.info.SRS == "" {
			r.info.SRS = fmt.Sprintf("EPSG:%d", srid)
		}
	} else {
		var xy [2]float64
		for k, i := range []int{r.lon, r.lat} {
			s := cell(i)
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				if s == "" {
					return geo.Feature{}, r.fail("has no %s (column %s is empty)", []string{"longitude", "latitude"}[k], r.header[i])
				}
				return geo.Feature{}, r.fail("has %s %q, which is not a number (write decimal degrees, e.g. 121.55)", []string{"longitude", "latitude"}[k], truncate(s, 40))
			}
			xy[k] = v
		}
		g = orb.Point(xy)
	}
	if msg := checkGeometry(g, r.maxV); msg != "" {
		return geo.Feature{}, r.fail("%s", msg)
	}
	props := make(map[string]any, len(r.header))
	for i, h := range r.header {
		if i != r.wkt && i != r.lon && i != r.lat {
			props[h] = cell(i)
		}
	}
	return geo.Feature{Props: props, Geometry: g}, nil
}

// parseWKT parses WKT or PostGIS EWKT ("SRID=4490;POLYGON(…)"), in 2D or
// with Z or M (dropped): orb reads only 2D WKT, so the text is rewritten
// first, which also counts vertices before orb allocates them.
func parseWKT(s string, maxVertices int) (orb.Geometry, int, error) {
	srid := 0
	if len(s) > 5 && strings.EqualFold(s[:5], "SRID=") {
		head, rest, ok := strings.Cut(s, ";")
		if !ok {
			return nil, 0, fmt.Errorf("has an EWKT geometry without ';' after its SRID")
		}
		v, err := strconv.Atoi(strings.TrimSpace(head[5:]))
		if err != nil || v <= 0 {
			return nil, 0, fmt.Errorf("has an EWKT geometry with a bad SRID %q", truncate(head, 20))
		}
		srid, s = v, rest
	}
	flat, err := flattenWKT(s, maxVertices)
	if err != nil {
		return nil, 0, err
	}
	g, err := wkt.Unmarshal(flat)
	if err != nil {
		return nil, 0, fmt.Errorf("has WKT that cannot be read (%v): check the %q text", err, truncate(s, 40))
	}
	return g, srid, nil
}

// flattenWKT rewrites WKT in the compact 2D form orb reads: upper-case
// keywords, Z/M/ZM markers dropped, only the first two numbers of each
// coordinate kept, single spaces.
func flattenWKT(s string, maxVertices int) (string, error) {
	var b strings.Builder
	b.Grow(len(s))
	nums := 0     // numbers in the current coordinate
	vertices := 0 // coordinates so far
	depth := 0
	i := 0
	endCoord := func() error {
		if nums == 0 {
			return nil
		}
		if nums == 1 {
			return fmt.Errorf("has a WKT coordinate with only one number")
		}
		vertices++
		if vertices > maxVertices {
			return errors.New(overVertexLimit(maxVertices))
		}
		nums = 0
		return nil
	}
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			depth++
			if depth > maxWKBDepth*3 {
				return "", fmt.Errorf("has WKT nested too deeply")
			}
			b.WriteByte('(')
			i++
		case c == ')' || c == ',':
			if err := endCoord(); err != nil {
				return "", err
			}
			if c == ')' {
				depth--
			}
			b.WriteByte(c)
			i++
		case c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || strings.IndexByte("+-.eE", s[j]) >= 0) {
				j++
			}
			if nums < 2 {
				if nums == 1 {
					b.WriteByte(' ')
				}
				b.WriteString(s[i:j])
			}
			nums++
			i = j
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z':
			j := i
			for j < len(s) && (s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] == '_') {
				j++
			}
			w := strings.ToUpper(s[i:j])
			i = j
			switch w {
			case "Z", "M", "ZM":
				continue
			case "NAN", "INF", "INFINITY":
				return "", fmt.Errorf("has a coordinate that is not a finite number (%s)", w)
			case "EMPTY":
				b.WriteString(" EMPTY")
				continue
			}
			if nums > 0 {
				return "", fmt.Errorf("has WKT with %q inside a coordinate", truncate(w, 20))
			}
			b.WriteString(w)
		default:
			return "", fmt.Errorf("has WKT with an unexpected %q", truncate(s[i:], 10))
		}
	}
	if err := endCoord(); err != nil {
		return "", err
	}
	return b.String(), nil
}
