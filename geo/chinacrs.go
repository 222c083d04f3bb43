package geo

import (
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// Chinese web maps do not show WGS84. By law, maps published in mainland
// China use GCJ-02 ("Mars coordinates"), WGS84 pushed by a deliberately
// irregular offset of a few hundred metres; Amap (高德) and Tencent use it.
// Baidu adds its own shift on top and calls the result BD-09. A grid drawn
// by someone who clicked on Amap is therefore off by up to ~700 m if it is
// stored as if it were WGS84, which is larger than many grids. gridd stores
// everything in EPSG:4326, so such input has to be turned back into WGS84
// before it is stored, and WGS84 has to be offset before it is laid over an
// Amap or Baidu base map.
//
// The forward offsets are public formulas, reproduced here exactly so that
// our numbers agree with the maps and with the common libraries to the last
// few digits. Neither has a closed-form inverse; the well-known "subtract the
// offset taken at the wrong point" shortcut is off by up to ~5 m, which is
// visible at grid scale, so the inverses here iterate on the forward formula
// until it reproduces the input to 1e-9 degrees (~0.1 mm).

// Constants of the GCJ-02 offset. The offset is expressed on the
// Krasovsky-1940 ellipsoid, not on WGS84's; these exact values are what every
// published implementation uses, so they must not be "corrected".
const (
	krasovskyA  = 6378245.0              // semi-major axis, metres
	krasovskyEE = 0.00669342162296594323 // first eccentricity squared
)

// The rough rectangle inside which GCJ-02 is applied. It is the rectangle
// every implementation uses (it contains all of China and some neighbours);
// using the same one keeps us consistent with the maps at the edges.
const (
	chinaMinLon = 72.004
	chinaMaxLon = 137.8347
	chinaMinLat = 0.8293
	chinaMaxLat = 55.8271
)

// chinaMargin widens the rectangle when inverting: a point just inside the
// rectangle may be offset to just outside it, and its GCJ-02 image must
// still be turned back. The offset never exceeds ~0.011 degrees, so 0.1 is
// ample, and it keeps the iteration away from the poles, where the
// longitude offset divides by cos(lat).
const chinaMargin = 0.1

// baiduXPi is the odd constant of Baidu's BD-09 shift (π·3000/180). It has
// no geodetic meaning; it is part of the published formula.
const baiduXPi = math.Pi * 3000.0 / 180.0

// Inversion parameters. Both forward maps are the identity plus an offset
// whose slope is below 0.03 (GCJ-02 below 0.008), so each round of
// fixed-point iteration shrinks the error at least thirtyfold and
// inverseTolerance is met within five rounds everywhere in China.
// (GCJ-02 has a √|lon−105| term whose slope is unbounded right at 105°E,
// but the term is at most 2e-6·√|lon−105| degrees, so its pull on an
// iterate 1e-9 degrees off is under 1e-10 degrees: still convergent.)
// maxIterations only bounds the work for input that cannot converge.
const (
	inverseTolerance = 1e-9 // degrees, ~0.1 mm
	maxIterations    = 30
)

// inChina reports whether the GCJ-02 offset applies at lon, lat. It is
// written with positive comparisons so that NaN is outside.
func inChina(lon, lat float64) bool {
	return lon >= chinaMinLon && lon <= chinaMaxLon && lat >= chinaMinLat && lat <= chinaMaxLat
}

// nearChina is inChina widened by chinaMargin.
func nearChina(lon, lat float64) bool {
	return lon >= chinaMinLon-chinaMargin && lon <= chinaMaxLon+chinaMargin &&
		lat >= chinaMinLat-chinaMargin && lat <= chinaMaxLat+chinaMargin
}

// gcjOffset is the GCJ-02 offset in degrees at the WGS84 point lon, lat,
// applied without the rectangle test. The polynomial-and-sine part gives
// the offset roughly in metres in a frame centred on 105°E 35°N; the rest
// turns metres into degrees on the Krasovsky ellipsoid at that latitude.
func gcjOffset(lon, lat float64) (dLon, dLat float64) {
	x, y := lon-105.0, lat-35.0
	sqrtAbsX := math.Sqrt(math.Abs(x))
	common := (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0

	mLat := -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*sqrtAbsX + common +
		(20.0*math.Sin(y*math.Pi)+40.0*math.Sin(y/3.0*math.Pi))*2.0/3.0 +
		(160.0*math.Sin(y/12.0*math.Pi)+320.0*math.Sin(y*math.Pi/30.0))*2.0/3.0
	mLon := 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*sqrtAbsX + common +
		(20.0*math.Sin(x*math.Pi)+40.0*math.Sin(x/3.0*math.Pi))*2.0/3.0 +
		(150.0*math.Sin(x/12.0*math.Pi)+300.0*math.Sin(x/30.0*math.Pi))*2.0/3.0

	radLat := lat / 180.0 * math.Pi
	sinLat := math.Sin(radLat)
	magic := 1 - krasovskyEE*sinLat*sinLat
	sqrtMagic := math.Sqrt(magic)
	dLat = (mLat * 180.0) / ((krasovskyA * (1 - krasovskyEE)) / (magic * sqrtMagic) * math.Pi)
	dLon = (mLon * 180.0) / (krasovskyA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return dLon, dLat
}

// WGS84ToGCJ02 offsets a WGS84 longitude/latitude into GCJ-02, the datum
// of Amap (高德), Tencent and other maps published in mainland China.
//
// Points outside the rough rectangle of China (lon 72.004..137.8347, lat
// 0.8293..55.8271), and NaN or infinite input, are returned unchanged: the
// maps do not offset there, and every common implementation uses this same
// rectangle, so matching it keeps us consistent with them at the edges.
func WGS84ToGCJ02(lon, lat float64) (float64, float64) {
	if !inChina(lon, lat) {
		return lon, lat
	}
	dLon, dLat := gcjOffset(lon, lat)
	return lon + dLon, lat + dLat
}

// GCJ02ToWGS84 turns a GCJ-02 longitude/latitude back into WGS84. It is an
// exact inverse of WGS84ToGCJ02: it iterates until WGS84ToGCJ02 of the
// result is within 1e-9 degrees (~0.1 mm) of the input, instead of using
// the common one-step approximation, which is off by up to ~5 m.
//
// Near the edge of the rectangle (see WGS84ToGCJ02) the offset may carry a
// point across it, so a GCJ-02 point just outside the rectangle can be the
// image of a WGS84 point just inside; that point is returned, so the round
// trip from any WGS84 point holds everywhere. Input that no point inside
// the rectangle maps to, and NaN or infinite input, is returned unchanged.
func GCJ02ToWGS84(lon, lat float64) (float64, float64) {
	if !nearChina(lon, lat) {
		return lon, lat
	}
	// Solve p + gcjOffset(p) = (lon, lat) by fixed-point iteration, using
	// the offset without the rectangle test so the map stays continuous
	// while the iterate crosses the edge.
	wLon, wLat := lon, lat
	for i := 0; i < maxIterations; i++ {
		dLon, dLat := gcjOffset(wLon, wLat)
		rLon, rLat := wLon+dLon-lon, wLat+dLat-lat
		if math.Abs(rLon) <= inverseTolerance && math.Abs(rLat) <= inverseTolerance {
			break
		}
		wLon, wLat = wLon-rLon, wLat-rLat
	}
	if inChina(wLon, wLat) {
		return wLon, wLat
	}
	// The preimage may lie on the edge of the rectangle itself, with the
	// iterate a hair outside. Polish it (each round gains two digits) and
	// pull it onto the edge; if the forward transform then reproduces the
	// input, that is the answer.
	for i := 0; i < 3; i++ {
		dLon, dLat := gcjOffset(wLon, wLat)
		wLon, wLat = lon-dLon, lat-dLat
	}
	cLon := math.Min(math.Max(wLon, chinaMinLon), chinaMaxLon)
	cLat := math.Min(math.Max(wLat, chinaMinLat), chinaMaxLat)
	if fLon, fLat := WGS84ToGCJ02(cLon, cLat); math.Abs(fLon-lon) <= inverseTolerance && math.Abs(fLat-lat) <= inverseTolerance {
		return cLon, cLat
	}
	// Otherwise the only preimage is the input itself, which the forward
	// transform leaves alone if it is outside the rectangle.
	return lon, lat
}

// GCJ02ToBD09 applies Baidu's shift, turning GCJ-02 into BD-09, the datum
// of Baidu Maps (百度). Unlike GCJ-02 it has no rectangle: the published
// formula, which Baidu's own converter and the common libraries follow, is
// applied everywhere. NaN or infinite input comes out NaN or infinite.
func GCJ02ToBD09(lon, lat float64) (float64, float64) {
	z := math.Sqrt(lon*lon+lat*lat) + 0.00002*math.Sin(lat*baiduXPi)
	theta := math.Atan2(lat, lon) + 0.000003*math.Cos(lon*baiduXPi)
	return z*math.Cos(theta) + 0.0065, z*math.Sin(theta) + 0.006
}

// BD09ToGCJ02 undoes Baidu's shift exactly: it iterates until GCJ02ToBD09
// of the result is within 1e-9 degrees of the input. The closed form every
// library ships is only an approximation (off by up to ~2e-6 degrees, about
// 0.2 m); it serves here as the starting point. NaN or infinite input is
// returned unchanged, and so is input on which the iteration fails to
// converge, which happens only thousands of degrees out of range.
func BD09ToGCJ02(lon, lat float64) (float64, float64) {
	if !finite(lon) || !finite(lat) {
		return lon, lat
	}
	x, y := lon-0.0065, lat-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*baiduXPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*baiduXPi)
	gLon, gLat := z*math.Cos(theta), z*math.Sin(theta)
	for i := 0; i < maxIterations; i++ {
		bLon, bLat := GCJ02ToBD09(gLon, gLat)
		rLon, rLat := bLon-lon, bLat-lat
		if math.Abs(rLon) <= inverseTolerance && math.Abs(rLat) <= inverseTolerance {
			return gLon, gLat
		}
		gLon, gLat = gLon-rLon, gLat-rLat
	}
	// The rotation term's slope grows with the distance from (0, 0) and
	// passes 1 near 6000 degrees; such input is no longitude/latitude and
	// has no meaningful Baidu inverse.
	return lon, lat
}

// WGS84ToBD09 offsets WGS84 into BD-09: GCJ-02 first, then Baidu's shift,
// which is how Baidu defines BD-09. Outside China only Baidu's shift is
// applied (see WGS84ToGCJ02 and GCJ02ToBD09).
func WGS84ToBD09(lon, lat float64) (float64, float64) {
	return GCJ02ToBD09(WGS84ToGCJ02(lon, lat))
}

// BD09ToWGS84 turns BD-09 back into WGS84 exactly: BD09ToGCJ02, then
// GCJ02ToWGS84, each iterated to 1e-9 degrees, so WGS84ToBD09 of the
// result is within ~2e-9 degrees (~0.2 mm) of the input.
func BD09ToWGS84(lon, lat float64) (float64, float64) {
	return GCJ02ToWGS84(BD09ToGCJ02(lon, lat))
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// Datum names the coordinate system of lon/lat input, so that importers and
// the HTTP API can accept coordinates read off Chinese web maps and store
// them as WGS84. Use ParseDatum to read one from user input.
type Datum string

// The datums gridd understands. CGCS2000 (EPSG:4490), China's official
// datum, is accepted as DatumWGS84: the two differ by centimetres, far below
// the accuracy of any grid boundary.
const (
	DatumWGS84 Datum = "wgs84" // WGS84/CGCS2000 lon/lat, EPSG:4326 or 4490; what gridd stores
	DatumGCJ02 Datum = "gcj02" // GCJ-02, Amap (高德) and Tencent
	DatumBD09  Datum = "bd09"  // BD-09, Baidu (百度)
)

// ParseDatum reads a datum name as written on the command line, in a URL
// or in an import form, ignoring case and surrounding spaces, and accepting
// the aliases people actually type (EPSG codes, hyphenated names).
func ParseDatum(s string) (Datum, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "wgs84", "cgcs2000", "4326", "epsg:4326", "4490", "epsg:4490":
		return DatumWGS84, nil
	case "gcj02", "gcj-02":
		return DatumGCJ02, nil
	case "bd09", "bd-09":
		return DatumBD09, nil
	}
	return "", Errorf(EINVALID, "unknown datum %q: use wgs84 (also cgcs2000, 4326, epsg:4326, 4490, epsg:4490), gcj02 (gcj-02) or bd09 (bd-09)", s)
}

// ToWGS84 converts a lon/lat in datum d to WGS84. It panics on a Datum that
// is not one of the constants (including ""): such a value can only come
// from a programming error, since ParseDatum never returns one, and passing
// the coordinates through unchanged would store them hundreds of metres off
// without anyone noticing.
func ToWGS84(d Datum, lon, lat float64) (float64, float64) {
	switch d {
	case DatumWGS84:
		return lon, lat
	case DatumGCJ02:
		return GCJ02ToWGS84(lon, lat)
	case DatumBD09:
		return BD09ToWGS84(lon, lat)
	}
	panic(fmt.Sprintf("geo.ToWGS84: unknown datum %q", string(d)))
}

// FromWGS84 converts a WGS84 lon/lat to datum d, for laying gridd's
// geometry over an Amap or Baidu base map. Like ToWGS84 it panics on a
// Datum that is not one of the constants.
func FromWGS84(d Datum, lon, lat float64) (float64, float64) {
	switch d {
	case DatumWGS84:
		return lon, lat
	case DatumGCJ02:
		return WGS84ToGCJ02(lon, lat)
	case DatumBD09:
		return WGS84ToBD09(lon, lat)
	}
	panic(fmt.Sprintf("geo.FromWGS84: unknown datum %q", string(d)))
}

// TransformGeometry returns a copy of g with f applied to every vertex; g
// itself is left alone, because features read from a file may be shared
// (kept for a report, compared with the stored copy) and an in-place change
// would be a surprise. f is typically one of the functions above, or a
// closure over ToWGS84 or FromWGS84. A nil geometry or nil slice stays nil.
//
// A Bound is not a shape that survives a non-linear offset; it becomes the
// bound of its four transformed corners, which is what a bounding-box query
// needs, since the offsets change by only metres across a city.
//
// It panics on a type that is not one of orb's geometry types, which orb
// does not produce.
func TransformGeometry(g orb.Geometry, f func(lon, lat float64) (float64, float64)) orb.Geometry {
	switch g := g.(type) {
	case nil:
		return nil
	case orb.Point:
		return transformPoint(g, f)
	case orb.MultiPoint:
		return orb.MultiPoint(transformPoints(g, f))
	case orb.LineString:
		return orb.LineString(transformPoints(g, f))
	case orb.Ring:
		return orb.Ring(transformPoints(g, f))
	case orb.MultiLineString:
		if g == nil {
			return g
		}
		out := make(orb.MultiLineString, len(g))
		for i, ls := range g {
			out[i] = transformPoints(ls, f)
		}
		return out
	case orb.Polygon:
		return transformPolygon(g, f)
	case orb.MultiPolygon:
		if g == nil {
			return g
		}
		out := make(orb.MultiPolygon, len(g))
		for i, p := range g {
			out[i] = transformPolygon(p, f)
		}
		return out
	case orb.Collection:
		if g == nil {
			return g
		}
		out := make(orb.Collection, len(g))
		for i, m := range g {
			out[i] = TransformGeometry(m, f)
		}
		return out
	case orb.Bound:
		b := orb.Bound{Min: transformPoint(g.Min, f), Max: transformPoint(g.Min, f)}
		b = b.Extend(transformPoint(g.Max, f))
		b = b.Extend(transformPoint(orb.Point{g.Min[0], g.Max[1]}, f))
		return b.Extend(transformPoint(orb.Point{g.Max[0], g.Min[1]}, f))
	}
	panic(fmt.Sprintf("geo.TransformGeometry: unsupported geometry type %T", g))
}

func transformPoint(p orb.Point, f func(lon, lat float64) (float64, float64)) orb.Point {
	lon, lat := f(p[0], p[1])
	return orb.Point{lon, lat}
}

// transformPoints copies a run of points (MultiPoint, LineString and Ring
// all share this underlying type).
func transformPoints[S ~[]orb.Point](ps S, f func(lon, lat float64) (float64, float64)) S {
	if ps == nil {
		return nil
	}
	out := make(S, len(ps))
	for i, p := range ps {
		out[i] = transformPoint(p, f)
	}
	return out
}

func transformPolygon(p orb.Polygon, f func(lon, lat float64) (float64, float64)) orb.Polygon {
	if p == nil {
		return nil
	}
	out := make(orb.Polygon, len(p))
	for i, r := range p {
		out[i] = transformPoints(r, f)
	}
	return out
}
