// Package exporters writes areas of the unified coverage to the files the
// departments' own GIS desktops (ArcGIS, QGIS, SuperMap) open: GeoPackage
// and ESRI Shapefile, plain or zipped. The writers stream: memory stays
// bounded by the largest feature whatever the number of features. They
// know nothing of the database; cmd/gridd feeds them.
package exporters

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// Feature is one area as exported: the fields every format carries, and
// its geometry in EPSG:4326 (lon/lat).
type Feature struct {
	Code, Name, Parent, Level string
	Households, Population    *int // nil when unknown
	AreaM2                    float64
	Review                    string // why the merge flagged the area for review; "" when it did not
	Geometry                  orb.MultiPolygon
}

// Writer writes features to one layer of a file. Close finishes the file
// and reports the first error of any Write; after a failed Write the
// output is incomplete and only fit for deletion.
type Writer interface {
	Write(Feature) error
	Close() error
}

// aborter is a Writer that can give up without finishing its file, which
// the caller deletes.
type aborter interface{ abort() }

// The formats WriteFile writes besides the database's own GeoJSON and CSV.
const (
	FormatGeoPackage = "gpkg"
	FormatShapefile  = "shp"
)

// FormatOf names the format a file name asks for: .gpkg a GeoPackage,
// .shp and .zip a shapefile; "" for any other name.
func FormatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".gpkg":
		return FormatGeoPackage
	case ".shp", ".zip":
		return FormatShapefile
	}
	return ""
}

// layerName is what a GeoPackage table may be called here: a plain SQL
// identifier, so that it can go into the spatial index's trigger
// templates without quoting rules of its own.
var layerName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// validTable reports whether a GeoPackage feature table may be named t:
// a plain identifier, and none of the prefixes SQLite and the spec keep
// for themselves.
func validTable(t string) bool {
	lower := strings.ToLower(t)
	for _, p := range []string{"gpkg_", "rtree_", "sqlite_"} {
		if strings.HasPrefix(lower, p) {
			return false
		}
	}
	return layerName.MatchString(t)
}

// shapefileStale are the parts a GIS may have added beside an older
// shapefile of the same name: spatial and attribute indexes that would no
// longer match the new .shp, so they are removed when it replaces it.
var shapefileStale = []string{".sbn", ".sbx", ".qix", ".atx", ".aih", ".ain"}

// WriteFile writes the features that features hands to its write function
// to path, as one layer named layer:
//
//   - gpkg: a GeoPackage with the table layer;
//   - shp with a path ending in .shp: the shapefile's .shp, .shx, .dbf,
//     .prj and .cpg beside each other;
//   - shp with a path ending in .zip: the same parts, named after the zip,
//     in a zip archive.
//
// Everything is written in a temporary folder beside path and moved into
// place only once complete, so a failed export leaves no file, nor any
// half of a shapefile, under the names people look for. (Replacing an
// earlier shapefile is five renames, not one: atomic per part only.)
func WriteFile(path, format, layer string, features func(write func(Feature) error) error) error {
	ext := strings.ToLower(filepath.Ext(path))
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	switch format {
	case FormatGeoPackage:
		if !validTable(layer) {
			return geo.Errorf(geo.EINVALID, "GeoPackage table name %q: use letters, digits and _ (at most 63), not starting with gpkg_, rtree_ or sqlite_", layer)
		}
	case FormatShapefile:
		if ext != ".shp" && ext != ".zip" {
			return geo.Errorf(geo.EINVALID, "%s: a shapefile export needs a file name ending in .shp (the .shx, .dbf, .prj and .cpg go beside it) or .zip", path)
		}
		if base == "" {
			return geo.Errorf(geo.EINVALID, "%s: name the shapefile, e.g. grids%s", path, ext)
		}
	default:
		return geo.Errorf(geo.EINVALID, "export format %q: use %s or %s", format, FormatGeoPackage, FormatShapefile)
	}
	dir := filepath.Dir(path)
	tmp, err := os.MkdirTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write in %s", dir)
	}
	defer os.RemoveAll(tmp)

	var w Writer
	var parts []string // what the writer made, in tmp
	if format == FormatGeoPackage {
		parts = []string{base + ".gpkg"}
		w, err = NewGeoPackage(filepath.Join(tmp, parts[0]), layer)
	} else {
		for _, e := range ShapefileParts {
			parts = append(parts, base+e)
		}
		w, err = NewShapefile(tmp, base)
	}
	if err != nil {
		return err
	}
	// Name the file people asked for in a feature's error, not the
	// temporary one.
	err = features(func(f Feature) error {
		if err := w.Write(f); err != nil {
			return geo.Errorf(geo.ErrorCode(err), "%s: %s", path, geo.ErrorMessage(err))
		}
		return nil
	})
	if err != nil {
		w.(aborter).abort()
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}

	switch {
	case format == FormatShapefile && ext == ".zip":
		zipped := filepath.Join(tmp, base+".zip")
		if err := zipFiles(zipped, tmp, parts); err != nil {
			return err
		}
		return place(tmp, []string{base + ".zip"}, dir, []string{filepath.Base(path)})
	case format == FormatShapefile:
		for _, e := range shapefileStale {
			for _, name := range []string{base + e, base + strings.ToUpper(e)} {
				if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return geo.WrapError(geo.EINVALID, err, "cannot remove the outdated index %s beside %s", name, path)
				}
			}
		}
		// The .shp goes last: a new shapefile is not there for readers
		// until all its parts are.
		targets := append([]string(nil), parts...)
		targets[0] = filepath.Base(path) // keep the .shp's spelling, e.g. GRIDS.SHP
		return place(tmp, rotate(parts), dir, rotate(targets))
	}
	return place(tmp, parts, dir, []string{filepath.Base(path)})
}

// rotate moves the first name to the end.
func rotate(names []string) []string {
	return append(append([]string(nil), names[1:]...), names[0])
}

// place syncs the files names in tmp and renames them to targets in dir.
// If one rename fails (hardly possible: tmp is in dir), the parts already
// moved are removed rather than left mixed with others.
func place(tmp string, names []string, dir string, targets []string) error {
	for _, n := range names {
		if err := syncFile(filepath.Join(tmp, n)); err != nil {
			return err
		}
	}
	for i, n := range names {
		to := filepath.Join(dir, targets[i])
		if err := os.Rename(filepath.Join(tmp, n), to); err != nil {
			for _, done := range targets[:i] {
				os.Remove(filepath.Join(dir, done))
			}
			return geo.WrapError(geo.EINVALID, err, "cannot write %s", to)
		}
	}
	return nil
}

// syncFile flushes a finished file to disk before it is renamed into
// place, so that a crash cannot leave a complete-looking empty file.
func syncFile(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write %s", p)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot write %s", p)
	}
	return nil
}

// bound is the extent of the features written so far.
type bound struct {
	b   orb.Bound
	any bool
}

func (e *bound) extend(b orb.Bound) {
	if !e.any {
		e.b, e.any = b, true
		return
	}
	e.b = e.b.Union(b)
}

// geometryBound is the extent of a multipolygon's vertices; ok is false
// when it has none.
func geometryBound(mp orb.MultiPolygon) (orb.Bound, bool) {
	var e bound
	for _, p := range mp {
		for _, r := range p {
			if len(r) > 0 {
				e.extend(r.Bound())
			}
		}
	}
	return e.b, e.any
}

// featureName names a feature in messages.
func featureName(n int, f Feature) string {
	if f.Code != "" {
		return fmt.Sprintf("feature %d (%s)", n, f.Code)
	}
	return fmt.Sprintf("feature %d", n)
}
