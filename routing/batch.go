package routing

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// BatchOptions say how LocateCSV reads its points and applies the rule.
type BatchOptions struct {
	// Columns picks the longitude and latitude columns from the header.
	Columns    func(header []string) (lon, lat int, err error)
	Datum      geo.Datum // of the input coordinates
	ToleranceM float64   // nearest grid within this outside the coverage
	DistrictM  float64   // else nearest district within this
	Workers    int       // 0: one per CPU
	Name       string    // the input's name in error messages
}

// BatchStats count what LocateCSV did.
type BatchStats struct {
	Points  int
	Matches map[string]int // by geo.Match* value
}

// batchColumns are the columns LocateCSV adds to every row.
var batchColumns = []string{"generation", "match", "distance_m", "district_code", "district_name", "street_code", "street_name",
	"community_code", "community_name", "grid_code", "grid_name"}

// LocateCSV reads a CSV of points from r and writes it to w with the
// chain of every point appended (batchColumns), in input order.
//
// A file without any quote character — what exports and sensors write —
// takes the fast path: the input is cut into chunks at line ends, parsed,
// located and formatted by all CPUs at once with no allocation per row
// (each row's own bytes are copied through, each chain's columns are
// formatted once per worker), and written in order. Any other file goes
// through encoding/csv one row at a time. Both give the same answer and
// the same errors, with the line number of the first bad row.
func (s *Snapshot) LocateCSV(r io.Reader, w io.Writer, o BatchOptions) (BatchStats, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return BatchStats{}, geo.WrapError(geo.EINVALID, err, "read %s", o.Name)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	if bytes.IndexByte(data, '"') >= 0 {
		return s.locateCSVSlow(bytes.NewReader(data), w, o)
	}
	nl := bytes.IndexByte(data, '\n')
	if nl < 0 {
		nl = len(data)
	}
	headerLine := bytes.TrimSuffix(data[:nl], []byte("\r"))
	if len(bytes.TrimSpace(headerLine)) == 0 {
		return BatchStats{}, geo.Errorf(geo.EINVALID, "%s has no header row", o.Name)
	}
	header := strings.Split(string(headerLine), ",")
	lonCol, latCol, err := o.Columns(header)
	if err != nil {
		return BatchStats{}, err
	}
	body := data[min(nl+1, len(data)):]
	b := &batch{s: s, o: o, lonCol: lonCol, latCol: latCol, need: max(lonCol, latCol) + 1}
	chunks := splitLines(body, max(64, 8*b.workers()))
	outs := make([][]byte, len(chunks))
	errs := make([]*rowError, len(chunks))
	counts := make([]map[string]int, b.workers())
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for wi := range counts {
		counts[wi] = map[string]int{}
		wg.Add(1)
		go func(wi int) {
			defer wg.Done()
			wk := newBatchWorker(b, counts[wi])
			for {
				ci := int(next.Add(1) - 1)
				if ci >= len(chunks) || failed.Load() {
					return
				}
				out, rerr := wk.chunk(chunks[ci].data, make([]byte, 0, len(chunks[ci].data)*3))
				if rerr != nil {
					rerr.off += chunks[ci].off
					errs[ci] = rerr
					failed.Store(true)
					return
				}
				outs[ci] = out
			}
		}(wi)
	}
	wg.Wait()
	for _, e := range errs {
		if e != nil { // the first bad chunk in input order holds the first bad row
			return BatchStats{}, e.err(o.Name, 2+bytes.Count(body[:e.off], []byte("\n")))
		}
	}
	st := BatchStats{Matches: map[string]int{}}
	for _, c := range counts {
		for k, v := range c {
			st.Matches[k] += v
			st.Points += v
		}
	}
	head := append(append(append([]byte{}, headerLine...), ','), strings.Join(batchColumns, ",")...)
	if _, err := w.Write(append(head, '\n')); err != nil {
		return st, err
	}
	for _, out := range outs {
		if _, err := w.Write(out); err != nil {
			return st, err
		}
	}
	return st, nil
}

func (b *batch) workers() int {
	if b.o.Workers > 0 {
		return b.o.Workers
	}
	return runtime.GOMAXPROCS(0)
}

// batch is one LocateCSV call's shared, read-only state.
type batch struct {
	s              *Snapshot
	o              BatchOptions
	lonCol, latCol int
	need           int // columns a row must have
}

// chunk is a run of whole lines and its offset in the body.
type chunk struct {
	data []byte
	off  int
}

// splitLines cuts data into about n runs of whole lines.
func splitLines(data []byte, n int) []chunk {
	var out []chunk
	size := max(len(data)/n, 1<<16)
	for off := 0; off < len(data); {
		end := min(off+size, len(data))
		if end < len(data) {
			if i := bytes.IndexByte(data[end:], '\n'); i >= 0 {
				end += i + 1
			} else {
				end = len(data)
			}
		}
		out = append(out, chunk{data: data[off:end], off: off})
		off = end
	}
	return out
}

// rowError is a bad row found by a worker, at an offset in the body.
type rowError struct {
	off        int
	columns    int
	lon, lat   string
	fewColumns bool
}

func (e *rowError) err(name string, line int) error {
	if e.fewColumns {
		return geo.Errorf(geo.EINVALID, "%s line %d has %d columns, fewer than the header", name, line, e.columns)
	}
	return geo.Errorf(geo.EINVALID, "%s line %d: %q, %q is not a lon, lat in degrees", name, line, e.lon, e.lat)
}

// batchWorker formats rows; its cache holds each chain's columns, keyed
// by the AreaRef the snapshot shares among lookups.
type batchWorker struct {
	b      *batch
	counts map[string]int
	cache  map[*geo.AreaRef][]byte
	none   []byte
	gen    []byte
	fields [][]byte
}

func newBatchWorker(b *batch, counts map[string]int) *batchWorker {
	return &batchWorker{b: b, counts: counts, cache: map[*geo.AreaRef][]byte{},
		gen: strconv.AppendInt(nil, int64(b.s.gen), 10), fields: make([][]byte, 0, 16)}
}

// chunk locates every line of data, appending output rows to out.
func (wk *batchWorker) chunk(data []byte, out []byte) ([]byte, *rowError) {
	o := &wk.b.o
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		if end < 0 {
			end = len(data)
		} else {
			end += off
		}
		line := bytes.TrimSuffix(data[off:end], []byte("\r"))
		lineOff := off
		off = end + 1
		if len(line) == 0 {
			continue // encoding/csv skips empty lines too
		}
		wk.fields = splitFields(line, wk.fields[:0], wk.b.need)
		if len(wk.fields) < wk.b.need {
			return out, &rowError{off: lineOff, columns: countFields(line), fewColumns: true}
		}
		lonB, latB := wk.fields[wk.b.lonCol], wk.fields[wk.b.latCol]
		lon, ok1 := parseCoord(lonB)
		lat, ok2 := parseCoord(latB)
		if !ok1 || !ok2 || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
			return out, &rowError{off: lineOff, lon: string(lonB), lat: string(latB)}
		}
		x, y := geo.ToWGS84(o.Datum, lon, lat)
		loc := wk.b.s.Locate(orb.Point{x, y}, o.ToleranceM, o.DistrictM)
		wk.counts[loc.Match]++
		out = append(out, line...)
		out = append(out, ',')
		out = append(out, wk.gen...)
		out = append(out, ',')
		out = append(out, loc.Match...)
		out = append(out, ',')
		out = strconv.AppendFloat(out, loc.DistanceM, 'f', 1, 64)
		out = append(out, wk.chainColumns(&loc.Chain)...)
		out = append(out, '\n')
	}
	return out, nil
}

// chainColumns formats ",district_code,district_name,…,grid_name" once
// per chain.
func (wk *batchWorker) chainColumns(c *geo.Chain) []byte {
	key := c.Grid
	if key == nil {
		key = c.District
	}
	if key == nil {
		if wk.none == nil {
			wk.none = formatChain(c)
		}
		return wk.none
	}
	if b, ok := wk.cache[key]; ok {
		return b
	}
	b := formatChain(c)
	wk.cache[key] = b
	return b
}

func formatChain(c *geo.Chain) []byte {
	var sb strings.Builder
	cw := csv.NewWriter(&sb)
	var rec []string
	for _, a := range []*geo.AreaRef{c.District, c.Street, c.Community, c.Grid} {
		if a == nil {
			rec = append(rec, "", "")
		} else {
			rec = append(rec, a.Code, a.Name)
		}
	}
	cw.Write(rec)
	cw.Flush()
	return append([]byte{','}, strings.TrimSuffix(sb.String(), "\n")...)
}

// splitFields cuts an unquoted CSV line at commas, stopping after need
// fields (the rest is copied through untouched).
func splitFields(line []byte, dst [][]byte, need int) [][]byte {
	for len(dst) < need {
		i := bytes.IndexByte(line, ',')
		if i < 0 {
			return append(dst, line)
		}
		dst = append(dst, line[:i])
		line = line[i+1:]
	}
	return dst
}

func countFields(line []byte) int { return bytes.Count(line, []byte(",")) + 1 }

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseCoord parses a decimal number, trimming blanks. A plain decimal
// of at most 15 significant digits is exact as an integer and divided
// once by an exact power of ten, which IEEE 754 rounds correctly: the
// same float64 as strconv.ParseFloat gives (Clinger's fast path), with no
// allocation. Anything else (exponents, long digit strings) goes to
// strconv.
func parseCoord(b []byte) (float64, bool) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return 0, false
	}
	i, neg := 0, false
	switch b[0] {
	case '-':
		neg, i = true, 1
	case '+':
		i = 1
	}
	var m uint64
	digits, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			if m == 0 && c == '0' && !dot {
				continue // leading zeros add no significant digit
			}
			m = m*10 + uint64(c-'0')
			digits++
			if dot {
				frac++
			}
		case c == '.' && !dot:
			dot = true
		default:
			return slowCoord(b)
		}
		if digits > 15 || frac > 15 {
			return slowCoord(b)
		}
	}
	if digits == 0 && !bytes.ContainsAny(b, "0123456789") {
		return 0, false
	}
	v := float64(m) / pow10[frac]
	if neg {
		v = -v
	}
	return v, true
}

func slowCoord(b []byte) (float64, bool) {
	v, err := strconv.ParseFloat(string(b), 64)
	return v, err == nil && !math.IsNaN(v)
}

// locateCSVSlow is LocateCSV through encoding/csv, for files with quotes.
func (s *Snapshot) locateCSVSlow(r io.Reader, w io.Writer, o BatchOptions) (BatchStats, error) {
	st := BatchStats{Matches: map[string]int{}}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return st, geo.WrapError(geo.EINVALID, err, "%s has no header row", o.Name)
	}
	lonCol, latCol, err := o.Columns(header)
	if err != nil {
		return st, err
	}
	cw := csv.NewWriter(w)
	cw.Write(append(header, batchColumns...))
	gen := strconv.Itoa(s.gen)
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return st, geo.WrapError(geo.EINVALID, err, "%s", o.Name)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) <= max(lonCol, latCol) {
			return st, (&rowError{columns: len(rec), fewColumns: true}).err(o.Name, line)
		}
		lon, ok1 := parseCoord([]byte(rec[lonCol]))
		lat, ok2 := parseCoord([]byte(rec[latCol]))
		if !ok1 || !ok2 || lon < -180 || lon > 180 || lat < -90 || lat > 90 {
			return st, (&rowError{lon: rec[lonCol], lat: rec[latCol]}).err(o.Name, line)
		}
		x, y := geo.ToWGS84(o.Datum, lon, lat)
		loc := s.Locate(orb.Point{x, y}, o.ToleranceM, o.DistrictM)
		st.Matches[loc.Match]++
		st.Points++
		row := append(rec, gen, loc.Match, strconv.FormatFloat(loc.DistanceM, 'f', 1, 64))
		for _, a := range []*geo.AreaRef{loc.District, loc.Street, loc.Community, loc.Grid} {
			if a == nil {
				row = append(row, "", "")
			} else {
				row = append(row, a.Code, a.Name)
			}
		}
		cw.Write(row)
	}
	cw.Flush()
	return st, cw.Error()
}
