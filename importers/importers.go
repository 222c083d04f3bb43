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

// Defaults of the limits in Options. They are far above any real boundary
// layer (a city's finest grid layer has some ten thousand features of a few
// hundred vertices each) and far below what would exhaust the memory of the
// server, so a hostile or broken file is refused with a message instead.
const (
	DefaultMaxVertices       = 1_000_000
	DefaultMaxFeatures       = 1_000_000
	DefaultMaxFileSize int64 = 2 << 30 // 2 GiB
)

// Options steer reading and attribute mapping. Empty fields are guessed.
type Options struct {
	CodeField       string
	NameField       string
	ParentField     string
	HouseholdsField string
	PopulationField string
	// SRS overrides the coordinate system found in the file, e.g. "EPSG:4490".
	// When it is set, a .prj or spatial_ref_sys entry that cannot be mapped
	// to an EPSG code is no longer an error.
	SRS string
	// Encoding is the text encoding of the attributes of a shapefile (.dbf)
	// or CSV file: "utf-8", "gbk", "gb18030", "big5", "latin1", a Windows
	// code page such as "936", … Empty means: the .cpg file, else the DBF
	// language driver, else detected (UTF-8, else GB18030).
	Encoding string
	// Table picks one layer of a file that holds several: a table of a
	// GeoPackage, or a shapefile (by name, without .shp) in a zip or folder.
	Table string
	// WKTField names the CSV column holding WKT geometry; LonField and
	// LatField the columns holding point coordinates. Empty means guessed
	// from common names (wkt, geometry, …; lon, 经度, …; lat, 纬度, …).
	WKTField, LonField, LatField string
	// MaxVertices refuses a feature with more vertices than this (0 means
	// DefaultMaxVertices), before its coordinates are read into memory.
	MaxVertices int
	// MaxFeatures refuses a file with more features than this (0 means
	// DefaultMaxFeatures).
	MaxFeatures int
	// MaxFileSize refuses a file larger than this many bytes, and a zip or
	// KMZ whose entries read would expand to more (0 means
	// DefaultMaxFileSize).
	MaxFileSize int64
}

// maxVertices, maxFeatures and maxFileSize are the limits in force.
func (o Options) maxVertices() int {
	if o.MaxVertices > 0 {
		return o.MaxVertices
	}
	return DefaultMaxVertices
}

func (o Options) maxFeatures() int {
	if o.MaxFeatures > 0 {
		return o.MaxFeatures
	}
	return DefaultMaxFeatures
}

func (o Options) maxFileSize() int64 {
	if o.MaxFileSize > 0 {
		return o.MaxFileSize
	}
	return DefaultMaxFileSize
}

// Info describes what was found in a source file.
type Info struct {
	Format   string   // "geojson", "shapefile", "gpkg", "kml", "kmz" or "csv"
	SRS      string   // coordinate system found in the file, "EPSG:nnnn", "" if none
	Encoding string   // text encoding of attributes: "UTF-8", "GBK", "GB18030", …
	Fields   []string // attribute names in file order
	Layer    string   // the layer read from a file that can hold several (shapefile, GeoPackage table); "" otherwise
}

// Reader yields the features of one file. Next returns io.EOF after the
// last feature. A Reader is not safe for concurrent use.
type Reader interface {
	Info() Info
	Next() (geo.Feature, error)
	Close() error
}

// supportedFiles is the list shown when a file type is not recognised.
const supportedFiles = ".geojson/.json/.geojsonl/.ndjson, .shp (or a folder holding one), .zip (zipped shapefile), .gpkg, .kml, .kmz or .csv"

// Open picks the reader for path by its extension; a directory is read as
// a folder holding a shapefile. Every reader streams: memory stays bounded
// by the largest feature, which Options.MaxVertices bounds in turn.
func Open(path string, opts Options) (Reader, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", path)
	}
	var r Reader
	ext := strings.ToLower(filepath.Ext(path))
	switch {
	case st.IsDir():
		r, err = openShapefileDir(path, opts)
	case st.Size() > opts.maxFileSize():
		return nil, geo.Errorf(geo.ETOOLARGE, "%s is %s, more than the limit of %s: split the layer into smaller files", path, byteSize(st.Size()), byteSize(opts.maxFileSize()))
	default:
		switch ext {
		case ".geojson", ".json", ".geojsonl", ".ndjson", ".geojsons":
			var f *os.File
			if f, err = os.Open(path); err != nil {
				return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", path)
			}
			r, err = newGeoJSONReader(f, path, opts)
		case ".shp":
			r, err = openShapefile(path, opts)
		case ".zip":
			r, err = openShapefileZip(path, opts)
		case ".gpkg":
			r, err = openGeoPackage(path, opts)
		case ".kml":
			r, err = openKML(path, opts)
		case ".kmz":
			r, err = openKMZ(path, opts)
		case ".csv":
			r, err = openCSV(path, opts)
		case ".dbf", ".shx", ".prj", ".cpg", ".sbn", ".sbx", ".qix":
			return nil, geo.Errorf(geo.EINVALID, "%s is one part of a shapefile: give the .shp file beside it (or the folder, or a zip of all the parts)", path)
		default:
			return nil, geo.Errorf(geo.EINVALID, "%s: unsupported file type %q: give a %s file", path, ext, supportedFiles)
		}
	}
	if err != nil {
		return nil, err
	}
	return &countingReader{Reader: r, max: opts.maxFeatures(), path: path}, nil
}

// countingReader enforces Options.MaxFeatures for every format in one place.
type countingReader struct {
	Reader
	n, max int
	path   string
}

func (c *countingReader) Next() (geo.Feature, error) {
	f, err := c.Reader.Next()
	if err != nil {
		return f, err
	}
	c.n++
	if c.n > c.max {
		return geo.Feature{}, geo.Errorf(geo.ETOOLARGE, "%s has more than %d features, the limit: split the layer into smaller files", c.path, c.max)
	}
	return f, nil
}

// printable replaces control characters (newlines above all) in text
// taken from a file, so that an error message quoting it stays one line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, s)
}

// byteSize renders a size for messages: "512 B", "3.2 MB", "2.0 GB".
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
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
			return geo.Errorf(geo.EINVALID, "--%s-field %q is not a field of this file; %s", what, given, FieldList(fields))
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

// FieldList words a file's attribute names for a message: "its fields
// are: a, b", or "the file has no attribute fields" when there are none,
// so that no message ends in an empty list.
func FieldList(fields []string) string {
	if len(fields) == 0 {
		return "the file has no attribute fields"
	}
	return "its fields are: " + strings.Join(fields, ", ")
}
