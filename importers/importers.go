package importers

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gridd/gridd/geo"
)

// Options steer reading and attribute mapping. Empty fields are guessed.
type Options struct {
	CodeField       string
	NameField       string
	ParentField     string
	HouseholdsField string
	PopulationField string
	// SRS overrides the coordinate system found in the file, e.g. "EPSG:4490".
	SRS string
}

// Info describes what was found in a source file.
type Info struct {
	Format   string   // "geojson", …
	SRS      string   // coordinate system found in the file, "" if none
	Encoding string   // text encoding of attributes
	Fields   []string // attribute names in file order
}

// Reader yields the features of one file. Next returns io.EOF after the
// last feature. A Reader is not safe for concurrent use.
type Reader interface {
	Info() Info
	Next() (geo.Feature, error)
	Close() error
}

// Open picks the reader for path by its extension.
func Open(path string, opts Options) (Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", path)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".geojson", ".json", ".geojsonl", ".ndjson", ".geojsons":
		return newGeoJSONReader(f, path)
	default:
		f.Close()
		return nil, geo.Errorf(geo.EINVALID, "%s: unsupported file type %q: give a .geojson file", path, ext)
	}
}

// Mapping says which attribute holds each field gridd knows.
type Mapping struct {
	Code, Name, Parent, Households, Population string
	Guessed                                    []string // which of them were guessed, for the report
}

// Common attribute names in Chinese GIS exports, most specific first.
var (
	codeNames       = []string{"code", "wgbm", "网格编码", "编码", "代码", "区划代码", "gridcode", "grid_code", "bm", "dm", "adcode"}
	nameNames       = []string{"name", "wgmc", "网格名称", "名称", "mc", "gridname", "grid_name"}
	parentNames     = []string{"parent_code", "parent", "sqbm", "社区编码", "所属社区", "上级编码", "sjbm", "community_code"}
	householdsNames = []string{"households", "hs", "户数", "hushu"}
	populationNames = []string{"population", "rk", "人口", "rks", "renkou"}
)

// MapFields resolves the mapping for a file's fields: the option when given
// (it must exist), otherwise the first common name present.
func MapFields(fields []string, opts Options) (Mapping, error) {
	var m Mapping
	lower := map[string]string{}
	for _, f := range fields {
		if _, dup := lower[strings.ToLower(f)]; !dup {
			lower[strings.ToLower(f)] = f
		}
	}
	pick := func(dst *string, what, given string, candidates []string) error {
		if given != "" {
			if real, ok := lower[strings.ToLower(given)]; ok {
				*dst = real
				return nil
			}
			return geo.Errorf(geo.EINVALID, "--%s-field %q is not a field of this file; its fields are: %s", what, given, strings.Join(fields, ", "))
		}
		for _, c := range candidates {
			if real, ok := lower[c]; ok {
				*dst = real
				m.Guessed = append(m.Guessed, fmt.Sprintf("%s=%s", what, real))
				return nil
			}
		}
		return nil
	}
	for _, p := range []struct {
		dst        *string
		what, opt  string
		candidates []string
	}{
		{&m.Code, "code", opts.CodeField, codeNames},
		{&m.Name, "name", opts.NameField, nameNames},
		{&m.Parent, "parent", opts.ParentField, parentNames},
		{&m.Households, "households", opts.HouseholdsField, householdsNames},
		{&m.Population, "population", opts.PopulationField, populationNames},
	} {
		if err := pick(p.dst, p.what, p.opt, p.candidates); err != nil {
			return m, err
		}
	}
	return m, nil
}

// Apply moves the mapped attributes of f out of Props into their fields.
func (m Mapping) Apply(f *geo.Feature) error {
	take := func(field string) (string, bool) {
		if field == "" {
			return "", false
		}
		v, ok := f.Props[field]
		if !ok || v == nil {
			return "", false
		}
		delete(f.Props, field)
		return propString(v), true
	}
	if s, ok := take(m.Code); ok {
		f.Code = strings.TrimSpace(s)
	}
	if s, ok := take(m.Name); ok {
		f.Name = strings.TrimSpace(s)
	}
	if s, ok := take(m.Parent); ok {
		f.ParentCode = strings.TrimSpace(s)
	}
	for _, c := range []struct {
		field string
		dst   **int
		what  string
	}{{m.Households, &f.Households, "households"}, {m.Population, &f.Population, "population"}} {
		s, ok := take(c.field)
		if !ok || strings.TrimSpace(s) == "" {
			continue
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil || n < 0 || n > 1e9 {
			return geo.Errorf(geo.EINVALID, "%s %q is not a count", c.what, s)
		}
		v := int(n)
		*c.dst = &v
	}
	return nil
}

// propString renders an attribute value as text; whole numbers without a
// decimal point, so a code stored as a number maps to the same string.
func propString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == float64(int64(x)) {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	default:
		return fmt.Sprint(x)
	}
}

// ReadAll drains r into a slice; for tests and small files.
func ReadAll(r Reader) ([]geo.Feature, error) {
	var out []geo.Feature
	for {
		f, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, f)
	}
}
