package importers

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gridd/gridd/geo"
)

// Limits of the WKT parser. A .prj file is a few hundred bytes; these only
// keep a hostile one from costing more than a moment.
const (
	maxWKTLen   = 64 << 10
	maxWKTDepth = 32
	maxWKTNodes = 4096
)

// SRSFromWKT maps a coordinate system written as WKT (the contents of a
// shapefile's .prj, ESRI or OGC flavour, WKT1 or WKT2, or a GeoPackage
// spatial_ref_sys definition) to "EPSG:nnnn", the form PostGIS transforms
// from. It knows what Chinese boundary files come in:
//
//   - an explicit AUTHORITY["EPSG","nnnn"] or ID["EPSG",nnnn] on the whole
//     system;
//   - geographic CGCS2000 (EPSG:4490) and WGS 84 (EPSG:4326);
//   - Web Mercator (EPSG:3857), under its ESRI and OGC names;
//   - CGCS2000 Gauss-Krüger, recognised from its parameters rather than its
//     name: 3-degree zones with the zone number in the false easting
//     (EPSG:4513–4533, zones 25–45) or without (EPSG:4534–4554, central
//     meridian 75°E–135°E), and 6-degree zones with (EPSG:4491–4501, zones
//     13–23) or without (EPSG:4502–4512);
//   - WGS 84 / UTM (EPSG:326nn and 327nn).
//
// Anything else, such as Xian 1980 or Beijing 1954 (whose transformation to
// CGCS2000 needs parameters that differ by region) or a city's local grid,
// is an EINVALID error quoting the system's name and asking for --srs.
func SRSFromWKT(wkt string) (string, error) {
	wkt = strings.TrimSpace(strings.TrimPrefix(wkt, "\ufeff"))
	if wkt == "" {
		return "", geo.Errorf(geo.EINVALID, "the coordinate system definition is empty: pass --srs EPSG:nnnn")
	}
	if len(wkt) > maxWKTLen {
		return "", geo.Errorf(geo.EINVALID, "the coordinate system definition is %d bytes long, which is no WKT: pass --srs EPSG:nnnn", len(wkt))
	}
	p := wktParser{s: wkt}
	root, err := p.parse()
	if err != nil {
		return "", geo.Errorf(geo.EINVALID, "the coordinate system definition is not valid WKT (%v): pass --srs EPSG:nnnn", err)
	}
	if code := root.epsg(); code != "" {
		return code, nil
	}
	unknown := func(why string) error {
		return geo.Errorf(geo.EINVALID, "coordinate system %q %s: pass --srs EPSG:nnnn with its EPSG code", root.name(), why)
	}
	switch root.key {
	case "GEOGCS", "GEOGCRS", "GEODCRS", "GEODETICCRS", "GEOGRAPHICCRS":
		switch datumOf(root) {
		case datumCGCS2000:
			return "EPSG:4490", nil
		case datumWGS84:
			return "EPSG:4326", nil
		case datumLegacyChina:
			return "", unknown(legacyChinaWhy)
		}
		return "", unknown("is not one gridd recognises (it knows CGCS2000, WGS 84, Web Mercator, CGCS2000 Gauss-Krüger and UTM)")
	case "PROJCS", "PROJCRS", "PROJECTEDCRS":
		return projectedEPSG(root, unknown)
	}
	return "", unknown("is not a geographic or projected coordinate system")
}

const legacyChinaWhy = "uses the Beijing 1954 or Xian 1980 datum, whose shift to CGCS2000 differs by region, so gridd does not guess it; convert the layer to CGCS2000 first, or"

// Datums gridd tells apart.
const (
	datumUnknown = iota
	datumCGCS2000
	datumWGS84
	datumLegacyChina
)

// datumOf finds the datum of a coordinate system by the names of its
// geographic system, datum and ellipsoid, normalised (upper case, letters
// and digits only) so that "China Geodetic Coordinate System 2000",
// "GCS_China_Geodetic_Coordinate_System_2000", "D_China_2000" and
// "CGCS2000" all match. The ellipsoid alone is not enough: CGCS2000's is
// GRS 1980's, shared with NAD83 and ETRS89.
func datumOf(n *wktNode) int {
	var names []string
	var walk func(n *wktNode)
	walk = func(n *wktNode) {
		switch n.key {
		case "GEOGCS", "GEOGCRS", "GEODCRS", "BASEGEOGCRS", "BASEGEODCRS", "DATUM", "TRF", "GEODETICDATUM", "SPHEROID", "ELLIPSOID":
			names = append(names, normName(n.name()))
		}
		for _, c := range n.kids {
			switch c.key {
			case "PROJECTION", "CONVERSION", "PARAMETER", "AXIS", "UNIT", "AUTHORITY", "ID", "USAGE":
				continue
			}
			walk(c)
		}
	}
	walk(n)
	has := func(subs ...string) bool {
		for _, nm := range names {
			for _, s := range subs {
				if strings.Contains(nm, s) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case has("CGCS2000", "CHINA2000", "CHINAGEODETICCOORDINATESYSTEM2000"):
		return datumCGCS2000
	case has("WGS84", "WGS1984"):
		return datumWGS84
	case has("BEIJING", "XIAN", "KRASOVSK", "IAG1975"):
		return datumLegacyChina
	}
	return datumUnknown
}

// normName upper-cases s and keeps only letters and digits.
func normName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r > 0x7f {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// projectedEPSG maps a projected system by its projection and parameters.
func projectedEPSG(root *wktNode, unknown func(string) error) (string, error) {
	method := ""
	params := map[string]float64{}
	var collect func(n *wktNode)
	collect = func(n *wktNode) {
		for _, c := range n.kids {
			switch c.key {
			case "PROJECTION", "METHOD":
				method = normName(c.name())
			case "PARAMETER":
				if v, ok := c.num(1); ok {
					params[paramAlias(normName(c.name()))] = v
				}
			case "CONVERSION":
				collect(c)
			}
		}
	}
	collect(root)
	name := normName(root.name())
	datum := datumOf(root)
	unit := 1.0
	for _, c := range root.kids {
		if c.key == "UNIT" || c.key == "LENGTHUNIT" {
			if v, ok := c.num(1); ok {
				unit = v
			}
		}
	}

	switch {
	case method == "MERCATORAUXILIARYSPHERE" || method == "POPULARVISUALISATIONPSEUDOMERCATOR" ||
		strings.Contains(name, "WEBMERCATOR") || strings.Contains(name, "PSEUDOMERCATOR") ||
		strings.Contains(name, "POPULARVISUALISATION") || strings.Contains(name, "900913"):
		if params["auxiliary_sphere_type"] != 0 {
			return "", unknown("is a Mercator on an auxiliary sphere other than Web Mercator's")
		}
		return "EPSG:3857", nil
	case method != "TRANSVERSEMERCATOR" && method != "GAUSSKRUGER" && method != "GAUSSKRUEGER":
		if datum == datumLegacyChina {
			return "", unknown(legacyChinaWhy)
		}
		return "", unknown("is not one gridd recognises (it knows CGCS2000, WGS 84, Web Mercator, CGCS2000 Gauss-Krüger and UTM)")
	case datum == datumLegacyChina:
		return "", unknown(legacyChinaWhy)
	case !near(unit, 1):
		return "", unknown(fmt.Sprintf("measures in units of %g m rather than metres", unit))
	}
	cm, fe, fn, k, lat0 := params["central_meridian"], params["false_easting"], params["false_northing"], params["scale_factor"], params["latitude_of_origin"]
	if _, ok := params["scale_factor"]; !ok {
		k = 1
	}
	switch datum {
	case datumCGCS2000:
		if code := cgcs2000GaussKruger(cm, fe, fn, k, lat0, name); code != 0 {
			return "EPSG:" + strconv.Itoa(code), nil
		}
		return "", unknown(fmt.Sprintf("is a transverse Mercator (central meridian %g, false easting %g, false northing %g, scale %g) that is not one of the standard CGCS2000 Gauss-Krüger zones (a local city grid?); if it has an EPSG code,", cm, fe, fn, k))
	case datumWGS84:
		zone := (cm + 183) / 6
		if near(k, 0.9996) && near(fe, 500000) && near(lat0, 0) && near(zone, math.Round(zone)) && zone >= 1 && zone <= 60 {
			switch {
			case near(fn, 0):
				return "EPSG:" + strconv.Itoa(32600+int(math.Round(zone))), nil
			case near(fn, 10000000):
				return "EPSG:" + strconv.Itoa(32700+int(math.Round(zone))), nil
			}
		}
	}
	return "", unknown("is not one gridd recognises (it knows CGCS2000, WGS 84, Web Mercator, CGCS2000 Gauss-Krüger and UTM)")
}

// cgcs2000GaussKruger returns the EPSG code of a CGCS2000 Gauss-Krüger
// system, 0 if the parameters are not those of a standard zone.
//
// EPSG defines four series (checked against the EPSG definitions of 4491,
// 4492, 4499, 4502, 4510, 4522, 4528, 4530, 4547 and 4549):
//
//	6-degree, zone number in the false easting: 4491–4501, zones 13–23, CM = 6·zone − 3, FE = zone·10⁶ + 500000
//	6-degree, plain:                            4502–4512, CM 75°E–135°E every 6°, FE = 500000
//	3-degree, zone number in the false easting: 4513–4533, zones 25–45, CM = 3·zone,     FE = zone·10⁶ + 500000
//	3-degree, plain:                            4534–4554, CM 75°E–135°E every 3°, FE = 500000
//
// With the zone in the false easting the zone number says which series it
// is. Without it, a central meridian of 75°E, 81°E, … 135°E belongs to both
// plain series, which define the very same projection; the name decides
// ("3_Degree" in ESRI's names, "3-degree" in EPSG's), else the 6-degree one.
func cgcs2000GaussKruger(cm, fe, fn, k, lat0 float64, name string) int {
	if !near(k, 1) || !near(fn, 0) || !near(lat0, 0) || !near(cm, math.Round(cm)) {
		return 0
	}
	c := int(math.Round(cm))
	if near(fe, 500000) {
		if c < 75 || c > 135 || c%3 != 0 {
			return 0
		}
		threeDegree := strings.Contains(name, "3DEGREE") || strings.Contains(name, "3度")
		if (c+3)%6 == 0 && !threeDegree {
			return 4502 + (c-75)/6
		}
		return 4534 + (c-75)/3
	}
	zf := (fe - 500000) / 1e6
	if !near(zf, math.Round(zf)) {
		return 0
	}
	zone := int(math.Round(zf))
	switch {
	case zone >= 25 && zone <= 45 && c == 3*zone:
		return 4513 + zone - 25
	case zone >= 13 && zone <= 23 && c == 6*zone-3:
		return 4491 + zone - 13
	}
	return 0
}

// paramAlias maps the parameter names of ESRI, OGC WKT1 and WKT2 to one.
func paramAlias(n string) string {
	switch n {
	case "CENTRALMERIDIAN", "LONGITUDEOFNATURALORIGIN", "LONGITUDEOFCENTER", "LONGITUDEOFORIGIN", "LONGITUDEOFCENTRE":
		return "central_meridian"
	case "FALSEEASTING":
		return "false_easting"
	case "FALSENORTHING":
		return "false_northing"
	case "SCALEFACTOR", "SCALEFACTORATNATURALORIGIN":
		return "scale_factor"
	case "LATITUDEOFORIGIN", "LATITUDEOFNATURALORIGIN":
		return "latitude_of_origin"
	case "AUXILIARYSPHERETYPE":
		return "auxiliary_sphere_type"
	}
	return strings.ToLower(n)
}

// near compares parameters written with varying numbers of decimals.
func near(a, b float64) bool { return math.Abs(a-b) <= 1e-6*math.Max(1, math.Abs(b)) }

// wktNode is one KEYWORD[...] of a WKT text.
type wktNode struct {
	key  string // upper case
	args []wktArg
	kids []*wktNode // the node arguments, in order
}

// wktArg is a quoted string, a number, a bare word or a node.
type wktArg struct {
	str  string
	num  float64
	isNu bool
	node *wktNode
}

// name is the node's first argument when it is a string: the name of a
// coordinate system, datum, parameter, ….
func (n *wktNode) name() string {
	if len(n.args) > 0 && n.args[0].node == nil && !n.args[0].isNu {
		return n.args[0].str
	}
	return ""
}

// num returns argument i as a number.
func (n *wktNode) num(i int) (float64, bool) {
	if i < len(n.args) && n.args[i].isNu {
		return n.args[i].num, true
	}
	return 0, false
}

// epsg returns "EPSG:nnnn" when the node carries an EPSG authority of its
// own (not one of its parts: the datum and base system carry theirs too).
func (n *wktNode) epsg() string {
	for _, c := range n.kids {
		if (c.key == "AUTHORITY" || c.key == "ID") && strings.EqualFold(c.name(), "EPSG") && len(c.args) > 1 {
			a := c.args[1]
			code := a.str
			if a.isNu {
				code = strconv.FormatFloat(a.num, 'f', -1, 64)
			}
			if v, err := strconv.Atoi(strings.TrimSpace(code)); err == nil && v > 0 && v < 1<<24 {
				return "EPSG:" + strconv.Itoa(v)
			}
		}
	}
	return ""
}

// wktParser reads the WKT grammar: KEYWORD[arg, arg, …] with square or
// round brackets, arguments being "quoted strings" (a doubled quote is a
// quote), numbers, bare words and nested nodes.
type wktParser struct {
	s     string
	i     int
	nodes int
}

func (p *wktParser) parse() (*wktNode, error) {
	n, err := p.node(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.s) {
		return nil, fmt.Errorf("unexpected text at byte %d", p.i)
	}
	return n, nil
}

func (p *wktParser) space() {
	for p.i < len(p.s) && strings.IndexByte(" \t\r\n", p.s[p.i]) >= 0 {
		p.i++
	}
}

func (p *wktParser) word() string {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '+' {
			p.i++
			continue
		}
		break
	}
	return p.s[start:p.i]
}

func (p *wktParser) node(depth int) (*wktNode, error) {
	if depth > maxWKTDepth {
		return nil, fmt.Errorf("nested too deeply")
	}
	if p.nodes++; p.nodes > maxWKTNodes {
		return nil, fmt.Errorf("too many elements")
	}
	p.space()
	key := p.word()
	if key == "" {
		return nil, fmt.Errorf("expected a keyword at byte %d", p.i)
	}
	p.space()
	if p.i >= len(p.s) || (p.s[p.i] != '[' && p.s[p.i] != '(') {
		return nil, fmt.Errorf("expected [ after %s", key)
	}
	closer := byte(']')
	if p.s[p.i] == '(' {
		closer = ')'
	}
	p.i++
	n := &wktNode{key: strings.ToUpper(key)}
	for {
		p.space()
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("%s is not closed", key)
		}
		if p.s[p.i] == closer && len(n.args) == 0 {
			p.i++
			return n, nil
		}
		a, err := p.arg(depth)
		if err != nil {
			return nil, err
		}
		n.args = append(n.args, a)
		if a.node != nil {
			n.kids = append(n.kids, a.node)
		}
		p.space()
		if p.i >= len(p.s) {
			return nil, fmt.Errorf("%s is not closed", key)
		}
		switch p.s[p.i] {
		case ',':
			p.i++
		case closer:
			p.i++
			return n, nil
		default:
			return nil, fmt.Errorf("unexpected %q at byte %d", p.s[p.i], p.i)
		}
	}
}

func (p *wktParser) arg(depth int) (wktArg, error) {
	if p.s[p.i] == '"' {
		var b strings.Builder
		p.i++
		for {
			j := strings.IndexByte(p.s[p.i:], '"')
			if j < 0 {
				return wktArg{}, fmt.Errorf("a quoted string is not closed")
			}
			b.WriteString(p.s[p.i : p.i+j])
			p.i += j + 1
			if p.i < len(p.s) && p.s[p.i] == '"' {
				b.WriteByte('"')
				p.i++
				continue
			}
			return wktArg{str: b.String()}, nil
		}
	}
	start := p.i
	w := p.word()
	if w == "" {
		return wktArg{}, fmt.Errorf("unexpected %q at byte %d", p.s[p.i], p.i)
	}
	if v, err := strconv.ParseFloat(w, 64); err == nil {
		return wktArg{num: v, isNu: true, str: w}, nil
	}
	p.space()
	if p.i < len(p.s) && (p.s[p.i] == '[' || p.s[p.i] == '(') {
		p.i = start
		n, err := p.node(depth + 1)
		if err != nil {
			return wktArg{}, err
		}
		return wktArg{node: n}, nil
	}
	return wktArg{str: w}, nil
}
