package importers

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/xuri/excelize/v2"
)

// Tables without geometry — the household register, category catalogues —
// come as CSV (saved by Excel in GBK as often as in UTF-8) or as Excel
// workbooks. A Table reads either row by row, numbering rows as the
// spreadsheet does (the header is line 1), so that an error can say
// "line 12, column E (身份证号)".
//
// Workbooks are read with github.com/xuri/excelize/v2: the maintained
// pure-Go reader and writer of the OOXML formats, which streams a sheet's
// rows instead of loading the sheet (a register has a million of them).

// Table limits: a row longer than maxTableRow is a broken file, and a
// workbook inflating beyond maxWorkbookUnzipped is a zip bomb.
const (
	maxTableRow         = 1 << 20
	maxWorkbookUnzipped = 2 << 30
)

// Table is a tabular file open for reading.
type Table struct {
	Format   string   // csv or xlsx
	Encoding string   // the CSV's text encoding; "" for workbooks (always UTF-8)
	Header   []string // column names, trimmed
	letters  bool     // columns named by letter (workbooks) rather than number
	next     func() ([]string, int, error)
	close    func() error
}

// OpenTable opens a .csv, .txt (CSV) or .xlsx file; encoding forces the
// CSV's text encoding ("" detects it).
func OpenTable(path, encoding string) (*Table, error) {
	name := filepath.Base(path)
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv", ".txt":
		return openCSVTable(path, name, encoding)
	case ".xlsx", ".xlsm":
		return openWorkbookTable(path, name)
	case ".xls":
		return nil, geo.Errorf(geo.EINVALID, "%s is an Excel 97–2003 workbook (.xls): save it as .xlsx or CSV", name)
	}
	return nil, geo.Errorf(geo.EINVALID, "%s: give a .csv or .xlsx file", name)
}

// Next returns the next row and its line; io.EOF after the last.
func (t *Table) Next() ([]string, int, error) { return t.next() }

// Close releases the file.
func (t *Table) Close() error { return t.close() }

// Column names column i (from 0) for messages: "column E (身份证号)" in a
// workbook, "column 5 (身份证号)" in a CSV.
func (t *Table) Column(i int) string {
	ref := fmt.Sprint(i + 1)
	if t.letters {
		ref, _ = excelize.ColumnNumberToName(i + 1)
	}
	if i < len(t.Header) && t.Header[i] != "" {
		return fmt.Sprintf("column %s (%s)", ref, t.Header[i])
	}
	return "column " + ref
}

func openCSVTable(path, name, encoding string) (*Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", name)
	}
	text, err := openCSVText(f, name, encoding, maxTableRow, "too long for a row of a table (an unclosed quote?)")
	if err != nil {
		f.Close()
		return nil, err
	}
	guard := &csvGuard{r: text.r, limit: maxTableRow}
	cr := csv.NewReader(guard)
	cr.Comma, cr.FieldsPerRecord, cr.ReuseRecord = text.comma, -1, true
	line := 0
	t := &Table{Format: "csv", Encoding: text.encoding, close: f.Close}
	t.next = func() ([]string, int, error) {
		rec, err := cr.Read()
		var pe *csv.ParseError
		switch {
		case err == io.EOF:
			return nil, 0, io.EOF
		case guard.hit:
			return nil, 0, geo.Errorf(geo.ETOOLARGE, "%s: the row after line %d is longer than %s (an unclosed quote?)", name, line, byteSize(maxTableRow))
		case errors.As(err, &pe):
			return nil, 0, geo.Errorf(geo.EINVALID, "%s: line %d: %v: fix the quoting of that line", name, pe.Line, pe.Err)
		case err != nil:
			return nil, 0, geo.WrapError(geo.EINVALID, err, "cannot read %s", name)
		}
		guard.mark = guard.read
		line, _ = cr.FieldPos(0)
		return rec, line, nil
	}
	if err := t.readHeader(name); err != nil {
		f.Close()
		return nil, err
	}
	return t, nil
}

func openWorkbookTable(path, name string) (*Table, error) {
	wb, err := excelize.OpenFile(path, excelize.Options{UnzipSizeLimit: maxWorkbookUnzipped})
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "%s is not a readable .xlsx workbook", name)
	}
	sheets := wb.GetSheetList()
	if len(sheets) == 0 {
		wb.Close()
		return nil, geo.Errorf(geo.EINVALID, "%s has no sheet", name)
	}
	rows, err := wb.Rows(sheets[0])
	if err != nil {
		wb.Close()
		return nil, geo.WrapError(geo.EINVALID, err, "%s: cannot read sheet %q", name, sheets[0])
	}
	line := 0
	t := &Table{Format: "xlsx", letters: true, close: func() error { rows.Close(); return wb.Close() }}
	t.next = func() ([]string, int, error) {
		if !rows.Next() {
			if err := rows.Error(); err != nil {
				return nil, 0, geo.WrapError(geo.EINVALID, err, "%s: sheet %q after line %d", name, sheets[0], line)
			}
			return nil, 0, io.EOF
		}
		line++
		rec, err := rows.Columns()
		if err != nil {
			return nil, 0, geo.WrapError(geo.EINVALID, err, "%s: line %d", name, line)
		}
		return rec, line, nil
	}
	if err := t.readHeader(name); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// readHeader reads the first non-empty row as the column names.
func (t *Table) readHeader(name string) error {
	for {
		rec, _, err := t.next()
		if err == io.EOF {
			return geo.Errorf(geo.EINVALID, "%s is empty: it needs a header line naming its columns", name)
		}
		if err != nil {
			return err
		}
		if blankRow(rec) {
			continue
		}
		for _, h := range rec {
			t.Header = append(t.Header, printable(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))))
		}
		return nil
	}
}

// blankRow reports whether every cell of a row is empty.
func blankRow(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
