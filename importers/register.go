package importers

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gridd/gridd/geo"
)

// The household register (实有人口) arrives as a table, one row per
// resident: the household's id, building, unit and room (repeated on each
// member's row), then the resident's name, ID number, phone, birth date
// and tags. Column names are matched in Chinese or English.

// Register fields and the column names they are found by.
var registerFields = []struct {
	field    string
	required bool
	names    []string
}{
	{"household_id", true, []string{"household_id", "household", "户号", "户编号", "家庭编号", "户籍编号"}},
	{"building_id", true, []string{"building_id", "building", "楼栋编号", "楼栋", "建筑编号", "楼栋id"}},
	{"unit", false, []string{"unit", "单元", "单元号"}},
	{"room", false, []string{"room", "房号", "房间号", "室号"}},
	{"name", true, []string{"name", "姓名"}},
	{"id_number", true, []string{"id_number", "id_card", "身份证号", "身份证号码", "公民身份号码", "证件号码"}},
	{"phone", false, []string{"phone", "mobile", "电话", "联系电话", "手机", "手机号", "手机号码"}},
	{"birth_date", false, []string{"birth_date", "birthday", "出生日期", "生日"}},
	{"tags", false, []string{"tags", "tag", "标签", "人员类别", "类别"}},
}

// RegisterOptions say how to check a register's rows.
type RegisterOptions struct {
	Tags  []string          // the tag catalogue; a tag outside it is an error
	Today time.Time         // birth dates after it are errors
	Names map[string]string // field → column name, overriding the guess
}

// RegisterReader reads and checks the rows of a register table.
type RegisterReader struct {
	t          *Table
	name       string // the file's name, for messages
	opts       RegisterOptions
	col        map[string]int // field → column index
	ids        map[string]int // ID number → line first seen
	households map[string]householdSeen
	errs       []geo.RowError
	total      int
}

type householdSeen struct {
	building, unit, room string
	line                 int
}

// NewRegisterReader maps the table's columns onto the register's fields.
func NewRegisterReader(t *Table, file string, opts RegisterOptions) (*RegisterReader, error) {
	r := &RegisterReader{t: t, name: file, opts: opts, col: map[string]int{}, ids: map[string]int{}, households: map[string]householdSeen{}}
	for _, f := range registerFields {
		names := f.names
		if given := opts.Names[f.field]; given != "" {
			names = []string{given}
		}
		for i, h := range t.Header {
			if slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, h) }) {
				r.col[f.field] = i
				break
			}
		}
		if _, ok := r.col[f.field]; !ok && (f.required || opts.Names[f.field] != "") {
			return nil, geo.Errorf(geo.EINVALID, "%s has no column %s for the %s: name a column %q (found: %s)",
				file, names[0], strings.ReplaceAll(f.field, "_", " "), names[len(names)-1], strings.Join(t.Header, ", "))
		}
	}
	return r, nil
}

// Mapping says which column each field was read from.
func (r *RegisterReader) Mapping() map[string]string {
	m := map[string]string{}
	for f, i := range r.col {
		m[f] = r.t.Header[i]
	}
	return m
}

// Column names where a field is read from.
func (r *RegisterReader) Column(field string) string {
	if i, ok := r.col[field]; ok {
		return r.t.Column(i)
	}
	return field
}

// Errors lists the first MaxRowErrors bad rows and counts them all.
func (r *RegisterReader) Errors() ([]geo.RowError, int) { return r.errs, r.total }

func (r *RegisterReader) fail(line int, field, format string, args ...any) {
	r.total++
	if len(r.errs) < geo.MaxRowErrors {
		col := ""
		if field != "" {
			col = r.Column(field)
		}
		r.errs = append(r.errs, geo.RowError{Line: line, Column: col, Message: fmt.Sprintf(format, args...)})
	}
}

// Next returns the next good row; bad rows are recorded and skipped.
func (r *RegisterReader) Next() (geo.RegisterRow, error) {
	for {
		rec, line, err := r.t.Next()
		if err != nil {
			return geo.RegisterRow{}, err
		}
		if blankRow(rec) {
			continue
		}
		if row, ok := r.check(rec, line); ok {
			return row, nil
		}
	}
}

func (r *RegisterReader) cell(rec []string, field string) string {
	i, ok := r.col[field]
	if !ok || i >= len(rec) {
		return ""
	}
	return strings.TrimSpace(rec[i])
}

// check reads one row; the first thing wrong with it is recorded.
func (r *RegisterReader) check(rec []string, line int) (geo.RegisterRow, bool) {
	row := geo.RegisterRow{Line: line, HouseholdID: r.cell(rec, "household_id"), BuildingID: r.cell(rec, "building_id"),
		Unit: r.cell(rec, "unit"), Room: r.cell(rec, "room"), Name: r.cell(rec, "name"),
		IDNumber: geo.NormalizeIDNumber(r.cell(rec, "id_number"))}
	for _, f := range []struct {
		field, v string
		max      int
		required bool
	}{{"household_id", row.HouseholdID, 100, true}, {"building_id", row.BuildingID, 100, true}, {"unit", row.Unit, 50, false},
		{"room", row.Room, 50, false}, {"name", row.Name, 50, true}} {
		switch n := utf8.RuneCountInString(f.v); {
		case f.required && n == 0:
			r.fail(line, f.field, "empty: every row needs a %s", strings.ReplaceAll(f.field, "_", " "))
			return row, false
		case n > f.max || !utf8.ValidString(f.v):
			r.fail(line, f.field, "longer than %d characters", f.max)
			return row, false
		}
	}
	if strings.ContainsAny(row.IDNumber, "Ee") && strings.Contains(row.IDNumber, "+") {
		r.fail(line, "id_number", "the ID number was stored as a number and lost its last digits: format the column as text and type it again")
		return row, false
	}
	if err := geo.ValidateIDNumber(row.IDNumber, r.opts.Today); err != nil {
		r.fail(line, "id_number", "%s", geo.ErrorMessage(err))
		return row, false
	}
	born := row.IDNumber[6:10] + "-" + row.IDNumber[10:12] + "-" + row.IDNumber[12:14]
	row.BirthDate = born
	if v := r.cell(rec, "birth_date"); v != "" {
		d, ok := parseDay(v)
		if !ok {
			r.fail(line, "birth_date", "%q is not a date: write it as YYYY-MM-DD", v)
			return row, false
		}
		if d != born {
			r.fail(line, "birth_date", "the birth date %s is not the one in the ID number (%s): correct one of them", d, born)
			return row, false
		}
	}
	if v := r.cell(rec, "phone"); v != "" {
		p, ok := normalizePhone(v)
		if !ok {
			r.fail(line, "phone", "a phone number has 5 to 15 digits (spaces and '-' allowed)")
			return row, false
		}
		row.Phone = p
	}
	for _, tag := range strings.FieldsFunc(r.cell(rec, "tags"), func(c rune) bool { return strings.ContainsRune(";；,，、|/", c) || unicode.IsSpace(c) }) {
		if !slices.Contains(r.opts.Tags, tag) {
			r.fail(line, "tags", "tag %q is not in the catalogue (%s): correct it or add it with --tags", tag, strings.Join(r.opts.Tags, "、"))
			return row, false
		}
		if !slices.Contains(row.Tags, tag) {
			row.Tags = append(row.Tags, tag)
		}
	}
	if first, dup := r.ids[row.IDNumber]; dup {
		r.fail(line, "id_number", "the same ID number as line %d: one person is registered once", first)
		return row, false
	}
	if h, ok := r.households[row.HouseholdID]; ok && (h.building != row.BuildingID || h.unit != row.Unit || h.room != row.Room) {
		field := "building_id"
		if h.building == row.BuildingID {
			field = "room"
			if h.unit != row.Unit {
				field = "unit"
			}
		}
		r.fail(line, field, "household %s is in building %s, unit %q, room %q on line %d: one household has one address", row.HouseholdID, h.building, h.unit, h.room, h.line)
		return row, false
	} else if !ok {
		r.households[row.HouseholdID] = householdSeen{building: row.BuildingID, unit: row.Unit, room: row.Room, line: line}
	}
	r.ids[row.IDNumber] = line
	return row, true
}

// parseDay reads the ways spreadsheets write a day into YYYY-MM-DD.
func parseDay(s string) (string, bool) {
	for _, layout := range []string{"2006-01-02", "2006-1-2", "2006/1/2", "2006.1.2", "20060102", "2006年1月2日"} {
		if d, err := time.Parse(layout, s); err == nil {
			return d.Format("2006-01-02"), true
		}
	}
	return "", false
}

// normalizePhone keeps a phone number's digits (and a leading +).
func normalizePhone(s string) (string, bool) {
	var b strings.Builder
	digits := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
			digits++
		case c == '+' && i == 0:
			b.WriteRune(c)
		case c == ' ' || c == '-':
		default:
			return "", false
		}
	}
	return b.String(), digits >= 5 && digits <= 15
}

var _ geo.RegisterSource = (*RegisterReader)(nil)
