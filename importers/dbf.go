package importers

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/gridd/gridd/geo"
)

// The DBF (dBase III) table of a shapefile: a 32-byte header, 32-byte field
// descriptors ended by 0x0D, then fixed-width records of text, each
// starting with a deletion flag (' ' or '*'). Every value is text padded
// with spaces, whatever its type.

// dbfField is one column.
type dbfField struct {
	raw      []byte // name as stored, undecoded
	name     string // decoded and made unique
	typ      byte   // C, N, F, L, D, M, …
	offset   int    // within the record, after the deletion flag
	length   int
	decimals int
}

// dbfTable is a DBF header.
type dbfTable struct {
	file       string // for messages
	records    int
	headerSize int
	recordSize int
	ldid       byte
	fields     []dbfField
}

// readDBFHeader reads the header and field descriptors from r, leaving r at
// the first record. size is the file's length, or -1 when unknown.
func readDBFHeader(r io.Reader, size int64, file string) (*dbfTable, error) {
	var h [32]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, geo.Errorf(geo.EINVALID, "%s is too short to be a DBF table (%v): copy the complete file again", file, err)
	}
	t := &dbfTable{
		file:       file,
		records:    int(binary.LittleEndian.Uint32(h[4:8])),
		headerSize: int(binary.LittleEndian.Uint16(h[8:10])),
		recordSize: int(binary.LittleEndian.Uint16(h[10:12])),
		ldid:       h[29],
	}
	if h[0]&0x07 == 4 { // dBase 7: 48-byte field descriptors, never used by shapefiles
		return nil, geo.Errorf(geo.EINVALID, "%s is a dBase 7 table, which shapefiles do not use: save the layer as a shapefile again", file)
	}
	if t.headerSize < 33 || t.recordSize < 1 {
		return nil, geo.Errorf(geo.EINVALID, "%s has a damaged header (header %d bytes, records %d bytes): re-export the layer", file, t.headerSize, t.recordSize)
	}
	if size >= 0 && int64(t.headerSize) > size {
		return nil, geo.Errorf(geo.EINVALID, "%s is truncated: its header alone should be %d bytes and the file has %d: copy the complete file again", file, t.headerSize, size)
	}
	desc := make([]byte, t.headerSize-32)
	if _, err := io.ReadFull(r, desc); err != nil {
		return nil, geo.Errorf(geo.EINVALID, "%s is truncated in its header: copy the complete file again", file)
	}
	offset := 0
	for i := 0; i+32 <= len(desc) && desc[i] != 0x0D; i += 32 {
		d := desc[i : i+32]
		raw := d[:11]
		if j := bytes.IndexByte(raw, 0); j >= 0 {
			raw = raw[:j]
		}
		f := dbfField{raw: bytes.TrimSpace(raw), typ: d[11], offset: offset, length: int(d[16]), decimals: int(d[17])}
		if f.typ == 'C' {
			// dBase stores the width of long text fields in both bytes.
			f.length = int(binary.LittleEndian.Uint16(d[16:18]))
			f.decimals = 0
		}
		offset += f.length
		t.fields = append(t.fields, f)
	}
	if 1+offset > t.recordSize {
		return nil, geo.Errorf(geo.EINVALID, "%s has a damaged header: its fields need %d bytes but a record has %d: re-export the layer", file, 1+offset, t.recordSize)
	}
	if size >= 0 {
		if have := (size - int64(t.headerSize)) / int64(t.recordSize); have < int64(t.records) {
			return nil, geo.Errorf(geo.EINVALID, "%s is truncated: its header says %d records but the file holds %d: copy the complete file again, or re-export the layer", file, t.records, have)
		}
	}
	return t, nil
}

// scanText calls fn with the raw bytes of every field name and of every
// text value of every record read from r (positioned at the first record),
// for the encoding sniffer. full says whether the value fills its field.
func (t *dbfTable) scanText(r io.Reader, fn func(b []byte, full bool, record int, field string)) error {
	for i := range t.fields {
		fn(t.fields[i].raw, len(t.fields[i].raw) == 11, 0, string(t.fields[i].raw))
	}
	rec := make([]byte, t.recordSize)
	for n := 1; n <= t.records; n++ {
		if _, err := io.ReadFull(r, rec); err != nil {
			return t.truncated(n, err)
		}
		for i := range t.fields {
			f := &t.fields[i]
			if f.typ != 'C' {
				continue
			}
			v, full := textValue(rec[1+f.offset : 1+f.offset+f.length])
			fn(v, full, n, string(f.raw))
		}
	}
	return nil
}

func (t *dbfTable) truncated(n int, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return geo.Errorf(geo.EINVALID, "%s ends inside record %d of %d: the file is truncated; copy the complete file again", t.file, n, t.records)
	}
	return geo.WrapError(geo.EINVALID, err, "%s: cannot read record %d", t.file, n)
}

// textValue trims a text field's padding (spaces, and the NULs some
// writers use) and says whether the value fills the field.
func textValue(b []byte) ([]byte, bool) {
	full := len(b) > 0 && b[len(b)-1] != ' ' && b[len(b)-1] != 0
	b = bytes.TrimRight(b, " \x00")
	return bytes.TrimLeft(b, " "), full
}

// nameFields decodes the field names and makes them unique (a DBF allows
// duplicates, and two Chinese names cut to 10 bytes may become equal).
func (t *dbfTable) nameFields(d *textDecoder) []string {
	seen := map[string]bool{}
	var names []string
	for i := range t.fields {
		f := &t.fields[i]
		name, _ := d.decode(f.raw, len(f.raw) == 11)
		name = strings.TrimSpace(name)
		if name == "" {
			name = fmt.Sprintf("field%d", i+1)
		}
		base := name
		for k := 2; seen[strings.ToLower(name)]; k++ {
			name = fmt.Sprintf("%s_%d", base, k)
		}
		seen[strings.ToLower(name)] = true
		f.name = name
		if f.typ != 'M' && f.typ != 'G' && f.typ != 'P' && f.typ != 'B' || f.typ == 'B' && f.length == 8 {
			names = append(names, name)
		}
	}
	return names
}

// dbfRecords reads records one at a time.
type dbfRecords struct {
	t   *dbfTable
	r   io.Reader
	dec *textDecoder
	rec []byte
	n   int // records read
}

func (t *dbfTable) reader(r io.Reader, dec *textDecoder) *dbfRecords {
	return &dbfRecords{t: t, r: r, dec: dec, rec: make([]byte, t.recordSize)}
}

// next reads the next record into props. deleted reports a record marked
// deleted, whose values are not decoded.
func (d *dbfRecords) next() (props map[string]any, deleted bool, err error) {
	d.n++
	if _, err := io.ReadFull(d.r, d.rec); err != nil {
		return nil, false, d.t.truncated(d.n, err)
	}
	if d.rec[0] == '*' {
		return nil, true, nil
	}
	props = make(map[string]any, len(d.t.fields))
	for i := range d.t.fields {
		f := &d.t.fields[i]
		raw := d.rec[1+f.offset : 1+f.offset+f.length]
		v, ok, err := d.value(f, raw)
		if err != nil {
			return nil, false, err
		}
		if ok {
			props[f.name] = v
		}
	}
	return props, false, nil
}

// value converts one field. Empty numbers, dates and logicals are nil;
// memo pointers (the memo file is not read) and unknown types are left out.
func (d *dbfRecords) value(f *dbfField, raw []byte) (any, bool, error) {
	switch f.typ {
	case 'C':
		b, full := textValue(raw)
		s, ok := d.dec.decode(b, full)
		if !ok {
			return nil, false, geo.Errorf(geo.EINVALID, "%s: record %d, field %s is not valid %s: pass the right --encoding", d.t.file, d.n, printable(f.name), d.dec.cs.name)
		}
		return s, true, nil
	case 'N', 'F':
		s := strings.TrimSpace(string(bytes.Trim(raw, "\x00")))
		if s == "" || strings.Trim(s, "*") == "" {
			return nil, true, nil // blank or overflowed ("****")
		}
		if f.decimals == 0 {
			// A 19-digit code would lose digits as a float64; keep
			// what does not fit an int64 as text.
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				return v, true, nil
			}
		}
		if v, err := strconv.ParseFloat(strings.Replace(s, ",", ".", 1), 64); err == nil && finite(v) {
			if f.decimals == 0 && (v >= 1<<53 || v <= -(1<<53)) {
				return s, true, nil
			}
			return v, true, nil
		}
		return s, true, nil
	case 'L':
		b := bytes.TrimSpace(raw)
		if len(b) == 0 {
			return nil, true, nil
		}
		switch b[0] {
		case 'T', 't', 'Y', 'y':
			return true, true, nil
		case 'F', 'f', 'N', 'n':
			return false, true, nil
		}
		return nil, true, nil
	case 'D':
		s := strings.TrimSpace(string(raw))
		if len(s) == 8 && strings.Trim(s, "0123456789") == "" {
			return s[:4] + "-" + s[4:6] + "-" + s[6:], true, nil
		}
		if s == "" || strings.Trim(s, "0") == "" {
			return nil, true, nil
		}
		return s, true, nil
	case 'I':
		if len(raw) == 4 {
			return int64(int32(binary.LittleEndian.Uint32(raw))), true, nil
		}
	case 'O':
		if len(raw) == 8 {
			return floatOrNil(binary.LittleEndian.Uint64(raw)), true, nil
		}
	case 'B':
		if len(raw) == 8 { // Visual FoxPro double; dBase 5 uses B for memo
			return floatOrNil(binary.LittleEndian.Uint64(raw)), true, nil
		}
	}
	return nil, false, nil
}

func floatOrNil(bits uint64) any {
	v := math.Float64frombits(bits)
	if !finite(v) {
		return nil
	}
	return v
}
