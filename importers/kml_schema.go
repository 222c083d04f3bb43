package importers

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// typeValues turns SimpleData values whose SimpleField says int or float
// into numbers, so that a households field written by GDAL as
// <SimpleField type="int"> arrives as the integer it was. Fields are
// matched by name across all schemas of the file (and of the archive):
// GDAL and Google Earth give a field one type wherever it appears.
func (r *kmlReader) typeValues(props map[string]any) {
	for k, v := range props {
		s, ok := v.(string)
		if !ok || s == "" {
			continue
		}
		switch r.types[k] {
		case "int", "uint", "short", "ushort":
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				props[k] = n
			}
		case "float", "double":
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				props[k] = f
			}
		}
	}
}

// kmlFound counts what a KML held, so that a file without polygons says
// what it has instead.
type kmlFound struct {
	points, lines, polygons, other int
	outside                        []string // links not followed (outside URLs, files not in the archive)
	followed                       int      // links followed inside the archive
}

func (f *kmlFound) count(g orb.Geometry) {
	switch g.(type) {
	case orb.Polygon, orb.MultiPolygon:
		f.polygons++
	case orb.Point, orb.MultiPoint:
		f.points++
	case orb.LineString, orb.MultiLineString:
		f.lines++
	default:
		f.other++
	}
}

// isPolygonal says whether g is a polygon or a multipolygon.
func isPolygonal(g orb.Geometry) bool {
	switch g.(type) {
	case orb.Polygon, orb.MultiPolygon:
		return true
	}
	return false
}

// noPolygons is the one line for a KML without polygon placemarks.
func (r *kmlReader) noPolygons() error {
	f := r.found
	var parts []string
	plural := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	if f.points > 0 {
		parts = append(parts, plural(f.points, "point placemark", "point placemarks"))
	}
	if f.lines > 0 {
		parts = append(parts, plural(f.lines, "line placemark", "line placemarks"))
	}
	if f.other > 0 {
		parts = append(parts, plural(f.other, "placemark of mixed points and lines", "placemarks of mixed points and lines"))
	}
	if n := len(f.outside); n > 0 {
		shown := f.outside
		if len(shown) > 3 {
			shown = append(shown[:3:3], "…")
		}
		parts = append(parts, plural(n, "link", "links")+" to an outside URL or a file not in it ("+strings.Join(shown, ", ")+")")
	}
	what := "no placemarks"
	if len(parts) > 0 {
		what = strings.Join(parts, " and ")
	}
	fix := "export the boundaries as polygons"
	if len(f.outside) > 0 {
		fix += "; gridd never fetches linked files: save the linked layer itself and import it"
	}
	return geo.Errorf(geo.EINVALID, "%s: the file has no polygon placemarks: it has %s: %s", r.name, what, fix)
}

// networkLink reads a NetworkLink up to its end tag and hands its href to
// r.link (a KMZ follows links inside the archive; otherwise the link is
// only counted, to be named if no polygon is found).
func (r *kmlReader) networkLink() error {
	depth := 0
	var href strings.Builder
	inHref := false
	for {
		tok, err := r.token()
		if err == io.EOF {
			return geo.Errorf(geo.EINVALID, "%s: a NetworkLink is not closed: the file is truncated", r.name)
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			inHref = t.Name.Local == "href"
		case xml.CharData:
			if inHref && href.Len() < 4096 {
				href.Write(t)
			}
		case xml.EndElement:
			if depth == 0 {
				h := strings.TrimSpace(href.String())
				if h == "" {
					return nil
				}
				if r.link != nil && r.link(h) {
					r.found.followed++
					return nil
				}
				r.found.outside = append(r.found.outside, printable(truncate(h, 100)))
				return nil
			}
			depth--
			inHref = false
		}
	}
}
