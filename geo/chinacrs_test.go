package geo

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
)

// metres is the great-circle distance between two lon/lat points. Haversine
// rather than orb/geo.Distance's flat approximation, because the round
// trips below are asserted to a centimetre.
func metres(lon1, lat1, lon2, lat2 float64) float64 {
	return orbgeo.DistanceHaversine(orb.Point{lon1, lat1}, orb.Point{lon2, lat2})
}

// checkNear fails when got is farther than tol degrees from want in either
// coordinate.
func checkNear(t *testing.T, what string, gotLon, gotLat, wantLon, wantLat, tol float64) {
	t.Helper()
	if math.Abs(gotLon-wantLon) > tol || math.Abs(gotLat-wantLat) > tol {
		t.Errorf("%s = (%.14f, %.14f), want (%.14f, %.14f) ± %g", what, gotLon, gotLat, wantLon, wantLat, tol)
	}
}

// checkExactInverse fails unless forward(gotLon, gotLat) reproduces the
// input of the inverse to tol degrees, which is what "exact inverse"
// promises: inverseTolerance for one iterated step, composedTolerance for
// BD09ToWGS84, whose two steps' residuals add up.
func checkExactInverse(t *testing.T, what string, forward func(lon, lat float64) (float64, float64), inLon, inLat, gotLon, gotLat, tol float64) {
	t.Helper()
	fLon, fLat := forward(gotLon, gotLat)
	if math.Abs(fLon-inLon) > tol || math.Abs(fLat-inLat) > tol {
		t.Errorf("%s(%v, %v) = (%v, %v), whose forward image (%v, %v) is off by (%.3g, %.3g) degrees",
			what, inLon, inLat, gotLon, gotLat, fLon, fLat, fLon-inLon, fLat-inLat)
	}
}

// composedTolerance bounds the forward residual of BD09ToWGS84: the first
// step's 1e-9 passes through GCJ-02's offset (slope below 0.008 per axis,
// so at most 1.02e-9) and the second step adds its own 1e-9.
const composedTolerance = 2.1e-9

// Published forward values. They are computed with the same formula and
// constants by independent implementations, so they must agree with ours
// to rounding; the tolerance is set by the number of digits published.
func TestForwardReferenceValues(t *testing.T) {
	tests := []struct {
		name                  string
		f                     func(lon, lat float64) (float64, float64)
		lon, lat              float64
		wantLon, wantLat, tol float64
	}{
		// github.com/wandergis/coordtransform, test/app.js (expected output
		// in the comment block at its end).
		{"coordtransform wgs84togcj02", WGS84ToGCJ02, 116.404, 39.915, 116.41024449916938, 39.91640428150164, 1e-12},
		{"coordtransform gcj02tobd09", GCJ02ToBD09, 116.404, 39.915, 116.41036949371029, 39.92133699351021, 1e-12},

		// github.com/googollee/eviltransform, go/transform_test.go (the same
		// three points are in python/test.py and php/EvilTransformTest.php);
		// published there as lat, lng.
		{"eviltransform shanghai", WGS84ToGCJ02, 121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, 1e-12},
		{"eviltransform shenzhen", WGS84ToGCJ02, 113.912316, 22.543847, 113.9171764808363, 22.540796131694766, 1e-12},
		{"eviltransform beijing", WGS84ToGCJ02, 116.377817, 39.911954, 116.38404722455657, 39.91334545536069, 1e-12},

		// github.com/hujiulong/gcoord, test/unit/crs/WGS84.spec.ts and
		// GCJ02.spec.ts (published to 7 or 8 decimals).
		{"gcoord WGS84 to GCJ02", WGS84ToGCJ02, 123, 45, 123.00607541, 45.00197815, 1e-8},
		{"gcoord WGS84 to BD09", WGS84ToBD09, 123, 45, 123.0124491, 45.0083293, 1e-7},
		{"gcoord GCJ02 to BD09", GCJ02ToBD09, 123, 45, 123.00636499, 45.00636899, 1e-8},

		// github.com/hujiulong/gcoord, test/fixtures/china-cities.json: the
		// GCJ02 and BD09 columns of a few cities (7 decimals, so both the
		// input and the expected value are rounded by up to 5e-8).
		{"gcoord 金华 GCJ02 to BD09", GCJ02ToBD09, 119.6474509, 29.0790641, 119.6538875, 29.0854003, 1.5e-7},
		{"gcoord 沈阳 GCJ02 to BD09", GCJ02ToBD09, 123.4314787, 41.8057023, 123.438095, 41.8114013, 1.5e-7},
		{"gcoord 那曲 GCJ02 to BD09", GCJ02ToBD09, 92.0512438, 31.4762063, 92.0576832, 31.4824421, 1.5e-7},
		{"gcoord 钦州 GCJ02 to BD09", GCJ02ToBD09, 108.6541485, 21.9799392, 108.6607283, 21.9856319, 1.5e-7},
		{"gcoord 锡林郭勒 GCJ02 to BD09", GCJ02ToBD09, 116.0482308, 43.9334573, 116.0546232, 43.9397782, 1.5e-7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lon, lat := tt.f(tt.lon, tt.lat)
			checkNear(t, tt.name, lon, lat, tt.wantLon, tt.wantLat, tt.tol)
		})
	}
}

// The WGS84 and GCJ02 columns of gcoord's china-cities.json fixture
// (github.com/hujiulong/gcoord, test/fixtures/china-cities.json) were not
// produced from each other by this formula: they differ from it by ~5e-6
// degrees (~0.5 m), and gcoord itself checks them only to 4 decimals. As
// an independent pairing they still pin the formula to well under a metre.
func TestForwardMatchesMapFixtures(t *testing.T) {
	tests := []struct {
		name                           string
		wgsLon, wgsLat, gcjLon, gcjLat float64
	}{
		{"金华", 119.6427465, 29.0820414, 119.6474509, 29.0790641},
		{"沈阳", 123.4253306, 41.8032629, 123.4314787, 41.8057023},
		{"那曲", 92.0499619, 31.4784436, 92.0512438, 31.4762063},
		{"钦州", 108.6503952, 21.9828281, 108.6541485, 21.9799392},
		{"锡林郭勒", 116.0414035, 43.9312805, 116.0482308, 43.9334573},
		{"酒泉", 98.4937175, 39.7319946, 98.4943595, 39.7328234},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lon, lat := WGS84ToGCJ02(tt.wgsLon, tt.wgsLat)
			if d := metres(lon, lat, tt.gcjLon, tt.gcjLat); d > 1 {
				t.Errorf("WGS84ToGCJ02(%v, %v) is %.2f m from the map's (%v, %v), want < 1 m", tt.wgsLon, tt.wgsLat, d, tt.gcjLon, tt.gcjLat)
			}
			lon, lat = GCJ02ToWGS84(tt.gcjLon, tt.gcjLat)
			if d := metres(lon, lat, tt.wgsLon, tt.wgsLat); d > 1 {
				t.Errorf("GCJ02ToWGS84(%v, %v) is %.2f m from the map's (%v, %v), want < 1 m", tt.gcjLon, tt.gcjLat, d, tt.wgsLon, tt.wgsLat)
			}
		})
	}
}

// The references publish inverses computed with the approximate one-step
// formulas (or a coarser iteration), so ours must be close to them but
// need not equal them; what ours must do is reproduce the input exactly
// when fed to the forward transform.
func TestInverseReferenceValues(t *testing.T) {
	tests := []struct {
		name             string
		inverse, forward func(lon, lat float64) (float64, float64)
		lon, lat         float64
		refLon, refLat   float64
		maxMetres        float64
		tol              float64
	}{
		// github.com/wandergis/coordtransform, test/app.js: one-step
		// approximations (ours differ by ~6 cm and ~5 cm).
		{"coordtransform gcj02towgs84", GCJ02ToWGS84, WGS84ToGCJ02, 116.404, 39.915, 116.39775550083061, 39.91359571849836, 0.5, inverseTolerance},
		{"coordtransform bd09togcj02", BD09ToGCJ02, GCJ02ToBD09, 116.404, 39.915, 116.39762729119315, 39.90865673957631, 0.5, inverseTolerance},
		// github.com/hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts.
		{"gcoord GCJ02 to WGS84", GCJ02ToWGS84, WGS84ToGCJ02, 123, 45, 122.99395597, 44.99804071, 0.05, inverseTolerance},
		// The forward pairs above, backwards: here the exact answer is known
		// (to the published digits; 1e-9 degrees of iteration is ~0.1 mm).
		{"coordtransform wgs84togcj02 reversed", GCJ02ToWGS84, WGS84ToGCJ02, 116.41024449916938, 39.91640428150164, 116.404, 39.915, 0.001, inverseTolerance},
		{"eviltransform shanghai reversed", GCJ02ToWGS84, WGS84ToGCJ02, 121.531541859215, 31.17530398364597, 121.5272106, 31.1774276, 0.001, inverseTolerance},
		{"eviltransform shenzhen reversed", GCJ02ToWGS84, WGS84ToGCJ02, 113.9171764808363, 22.540796131694766, 113.912316, 22.543847, 0.001, inverseTolerance},
		{"eviltransform beijing reversed", GCJ02ToWGS84, WGS84ToGCJ02, 116.38404722455657, 39.91334545536069, 116.377817, 39.911954, 0.001, inverseTolerance},
		{"coordtransform gcj02tobd09 reversed", BD09ToGCJ02, GCJ02ToBD09, 116.41036949371029, 39.92133699351021, 116.404, 39.915, 0.001, inverseTolerance},
		// Published to 7 decimals, so the input is rounded by up to ~5 mm.
		{"gcoord WGS84 to BD09 reversed", BD09ToWGS84, WGS84ToBD09, 123.0124491, 45.0083293, 123, 45, 0.01, composedTolerance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lon, lat := tt.inverse(tt.lon, tt.lat)
			if d := metres(lon, lat, tt.refLon, tt.refLat); d > tt.maxMetres {
				t.Errorf("(%v, %v) -> (%.14f, %.14f), %.3g m from reference (%v, %v), want < %g m", tt.lon, tt.lat, lon, lat, d, tt.refLon, tt.refLat, tt.maxMetres)
			}
			checkExactInverse(t, tt.name, tt.forward, tt.lon, tt.lat, lon, lat, tt.tol)
		})
	}
}

// chinaGrid returns ~10,000 points covering the whole rectangle, its edges
// included, plus a dense patch over Ningbo, where gridd is first deployed,
// and points on and next to 105°E, where the offset has a √|x| cusp.
func chinaGrid(t *testing.T) []orb.Point {
	t.Helper()
	const n = 100
	var pts []orb.Point
	for i := 0; i < n; i++ {
		lon := math.Min(chinaMinLon+float64(i)*(chinaMaxLon-chinaMinLon)/(n-1), chinaMaxLon)
		for j := 0; j < n; j++ {
			lat := math.Min(chinaMinLat+float64(j)*(chinaMaxLat-chinaMinLat)/(n-1), chinaMaxLat)
			pts = append(pts, orb.Point{lon, lat})
		}
	}
	for i := 0; i < 20; i++ { // Ningbo: 121.2..121.97E, 29.6..29.98N
		for j := 0; j < 20; j++ {
			pts = append(pts, orb.Point{121.2 + float64(i)*0.04, 29.6 + float64(j)*0.02})
		}
	}
	pts = append(pts, orb.Point{121.5, 29.8}, orb.Point{121.55, 29.875})
	for _, dx := range []float64{0, 1e-15, -1e-15, 1e-12, -1e-12, 1e-9, -1e-9, 1e-6, -1e-6} {
		for _, lat := range []float64{chinaMinLat, 20, 35, 50, chinaMaxLat} {
			pts = append(pts, orb.Point{105 + dx, lat})
		}
	}
	return pts
}

func TestRoundTripOverChina(t *testing.T) {
	pts := chinaGrid(t)
	if len(pts) < 10000 {
		t.Fatalf("grid has %d points, want ≥ 10000", len(pts))
	}
	tests := []struct {
		name             string
		forward, inverse func(lon, lat float64) (float64, float64)
		tol              float64
	}{
		{"GCJ02", WGS84ToGCJ02, GCJ02ToWGS84, inverseTolerance},
		{"BD09 from GCJ02", GCJ02ToBD09, BD09ToGCJ02, inverseTolerance},
		{"BD09", WGS84ToBD09, BD09ToWGS84, composedTolerance},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var worst float64
			var worstAt orb.Point
			for _, p := range pts {
				fLon, fLat := tt.forward(p[0], p[1])
				if d := metres(fLon, fLat, p[0], p[1]); (fLon == p[0] && fLat == p[1]) || d > 2000 {
					// Every point of the rectangle is offset, by up to
					// ~730 m (GCJ-02) plus ~1 km (Baidu's shift), never
					// by 2 km; not moving at all would mean the
					// rectangle test is off at the edge.
					t.Fatalf("forward(%v) moved the point %.3g m", p, d)
				}
				lon, lat := tt.inverse(fLon, fLat)
				if d := metres(lon, lat, p[0], p[1]); d > worst {
					worst, worstAt = d, p
				}
				checkExactInverse(t, "inverse", tt.forward, fLon, fLat, lon, lat, tt.tol)
			}
			// The brief is 0.5 m; the iteration gives ~1e-4 m.
			if worst > 0.01 {
				t.Errorf("worst round trip error %.3g m at %v, want < 0.01 m", worst, worstAt)
			}
			t.Logf("%d points, worst round trip error %.3g m at %v", len(pts), worst, worstAt)
		})
	}
}

// The one-step approximate inverse is what most code in the wild uses; if
// ours were no better there would be no point in iterating.
func TestInverseBeatsOneStepApproximation(t *testing.T) {
	lon, lat := 121.55, 29.875 // Ningbo
	gLon, gLat := WGS84ToGCJ02(lon, lat)
	dLon, dLat := gcjOffset(gLon, gLat)
	approx := metres(gLon-dLon, gLat-dLat, lon, lat)
	wLon, wLat := GCJ02ToWGS84(gLon, gLat)
	exact := metres(wLon, wLat, lon, lat)
	if !(exact < 0.001 && approx > 100*exact) {
		t.Errorf("iterated inverse is %.3g m off, one-step approximation %.3g m", exact, approx)
	}
}

func TestOutsideChinaUnchanged(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	tests := []struct {
		name     string
		lon, lat float64
	}{
		{"London", -0.1276, 51.5072},
		{"origin", 0, 0},
		{"Tokyo", 139.6917, 35.6895},
		{"west of rectangle", chinaMinLon - 0.5, 35},
		{"east of rectangle", chinaMaxLon + 0.5, 35},
		{"north of rectangle", 110, chinaMaxLat + 0.5},
		{"south of rectangle", 110, chinaMinLat - 0.5},
		{"south pole", 105, -90},
		{"north pole", 105, 90},
		{"huge", 1e300, -1e300},
		{"NaN lon", nan, 30},
		{"NaN lat", 120, nan},
		{"+Inf", inf, 30},
		{"-Inf", 120, -inf},
	}
	same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, f := range []struct {
				name string
				f    func(lon, lat float64) (float64, float64)
			}{
				{"WGS84ToGCJ02", WGS84ToGCJ02},
				{"GCJ02ToWGS84", GCJ02ToWGS84},
			} {
				lon, lat := f.f(tt.lon, tt.lat)
				if !same(lon, tt.lon) || !same(lat, tt.lat) {
					t.Errorf("%s(%v, %v) = (%v, %v), want it unchanged", f.name, tt.lon, tt.lat, lon, lat)
				}
			}
			// Baidu's shift has no rectangle, but non-finite input must
			// still come back unchanged and the inverses must stop.
			if !finite(tt.lon) || !finite(tt.lat) {
				for _, f := range []struct {
					name string
					f    func(lon, lat float64) (float64, float64)
				}{
					{"BD09ToGCJ02", BD09ToGCJ02},
					{"BD09ToWGS84", BD09ToWGS84},
				} {
					lon, lat := f.f(tt.lon, tt.lat)
					if !same(lon, tt.lon) || !same(lat, tt.lat) {
						t.Errorf("%s(%v, %v) = (%v, %v), want it unchanged", f.name, tt.lon, tt.lat, lon, lat)
					}
				}
			}
		})
	}
}

// A point just inside the rectangle can be offset to just outside it; the
// inverse must still bring it back, and a point well outside whose inverse
// would land outside stays put.
func TestEdgeOfRectangle(t *testing.T) {
	var crossed int
	for _, p := range []orb.Point{
		{chinaMinLon, 30}, {chinaMaxLon, 30}, {110, chinaMinLat}, {110, chinaMaxLat},
		{chinaMinLon, chinaMinLat}, {chinaMaxLon, chinaMaxLat},
		{chinaMinLon + 1e-4, 45}, {chinaMaxLon - 1e-4, 45}, {80, chinaMinLat + 1e-4}, {130, chinaMaxLat - 1e-4},
	} {
		gLon, gLat := WGS84ToGCJ02(p[0], p[1])
		if !inChina(gLon, gLat) {
			crossed++
		}
		lon, lat := GCJ02ToWGS84(gLon, gLat)
		if d := metres(lon, lat, p[0], p[1]); d > 0.01 {
			t.Errorf("%v -> (%v, %v) -> (%v, %v): %.3g m off", p, gLon, gLat, lon, lat, d)
		}
	}
	if crossed == 0 {
		t.Errorf("no test point crosses the edge of the rectangle; the test does not test that")
	}
}

func TestParseDatum(t *testing.T) {
	accepted := []struct {
		in   string
		want Datum
	}{
		{"wgs84", DatumWGS84}, {"WGS84", DatumWGS84}, {"cgcs2000", DatumWGS84}, {"CGCS2000", DatumWGS84},
		{"4326", DatumWGS84}, {"epsg:4326", DatumWGS84}, {"EPSG:4326", DatumWGS84},
		{"4490", DatumWGS84}, {"epsg:4490", DatumWGS84}, {"Epsg:4490", DatumWGS84},
		{"gcj02", DatumGCJ02}, {"GCJ02", DatumGCJ02}, {"gcj-02", DatumGCJ02}, {"GCJ-02", DatumGCJ02},
		{"bd09", DatumBD09}, {"BD09", DatumBD09}, {"bd-09", DatumBD09}, {"BD-09", DatumBD09},
		{" gcj02 ", DatumGCJ02},
	}
	for _, tt := range accepted {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDatum(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("ParseDatum(%q) = %q, %v; want %q, nil", tt.in, got, err, tt.want)
			}
		})
	}
	refused := []string{"", " ", "wgs-84", "wgs 84", "wgs", "gcj", "gcj_02", "bd09mc", "bd09ll", "baidu", "amap", "3857", "epsg:3857", "epsg4326", "epsg 4326", "mars"}
	for _, in := range refused {
		t.Run("refuse "+in, func(t *testing.T) {
			got, err := ParseDatum(in)
			if err == nil {
				t.Fatalf("ParseDatum(%q) = %q, nil; want an error", in, got)
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != EINVALID {
				t.Errorf("ParseDatum(%q) error %#v, want a *geo.Error with code %s", in, err, EINVALID)
			}
			msg := err.Error()
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error message has more than one line: %q", msg)
			}
			for _, v := range []string{"wgs84", "cgcs2000", "4326", "epsg:4326", "4490", "epsg:4490", "gcj02", "gcj-02", "bd09", "bd-09"} {
				if !strings.Contains(msg, v) {
					t.Errorf("error message %q does not list %q", msg, v)
				}
			}
		})
	}
}

func TestToFromWGS84(t *testing.T) {
	const lon, lat = 121.55, 29.875 // Ningbo
	tests := []struct {
		d       Datum
		forward func(lon, lat float64) (float64, float64)
	}{
		{DatumWGS84, func(lon, lat float64) (float64, float64) { return lon, lat }},
		{DatumGCJ02, WGS84ToGCJ02},
		{DatumBD09, WGS84ToBD09},
	}
	for _, tt := range tests {
		t.Run(string(tt.d), func(t *testing.T) {
			fLon, fLat := FromWGS84(tt.d, lon, lat)
			wantLon, wantLat := tt.forward(lon, lat)
			checkNear(t, "FromWGS84", fLon, fLat, wantLon, wantLat, 0)
			bLon, bLat := ToWGS84(tt.d, fLon, fLat)
			if d := metres(bLon, bLat, lon, lat); d > 0.01 {
				t.Errorf("ToWGS84(FromWGS84(p)) is %.3g m from p", d)
			}
		})
	}
	for _, d := range []Datum{"", "WGS84", "epsg:4326", "bd09mc"} {
		t.Run("panic on "+string(d), func(t *testing.T) {
			for name, f := range map[string]func(Datum, float64, float64) (float64, float64){"ToWGS84": ToWGS84, "FromWGS84": FromWGS84} {
				func() {
					defer func() {
						if recover() == nil {
							t.Errorf("%s(%q, …) did not panic", name, d)
						}
					}()
					f(d, lon, lat)
				}()
			}
		})
	}
}

func TestTransformGeometry(t *testing.T) {
	shift := func(lon, lat float64) (float64, float64) { return lon + 1, lat + 2 }
	sq := orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}
	sqShifted := orb.Ring{{1, 2}, {2, 2}, {2, 3}, {1, 3}, {1, 2}}
	tests := []struct {
		name string
		in   orb.Geometry
		want orb.Geometry
	}{
		{"Point", orb.Point{1, 1}, orb.Point{2, 3}},
		{"MultiPoint", orb.MultiPoint{{0, 0}, {1, 1}}, orb.MultiPoint{{1, 2}, {2, 3}}},
		{"LineString", orb.LineString{{0, 0}, {1, 1}}, orb.LineString{{1, 2}, {2, 3}}},
		{"MultiLineString", orb.MultiLineString{{{0, 0}, {1, 1}}, {{2, 2}}}, orb.MultiLineString{{{1, 2}, {2, 3}}, {{3, 4}}}},
		{"Ring", sq, sqShifted},
		{"Polygon", orb.Polygon{sq, sq}, orb.Polygon{sqShifted, sqShifted}},
		{"MultiPolygon", orb.MultiPolygon{{sq}, {sq, sq}}, orb.MultiPolygon{{sqShifted}, {sqShifted, sqShifted}}},
		{"Collection", orb.Collection{orb.Point{0, 0}, orb.Polygon{sq}, orb.Collection{orb.LineString{{1, 1}}}},
			orb.Collection{orb.Point{1, 2}, orb.Polygon{sqShifted}, orb.Collection{orb.LineString{{2, 3}}}}},
		{"Bound", orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{1, 1}}, orb.Bound{Min: orb.Point{1, 2}, Max: orb.Point{2, 3}}},
		{"empty Polygon", orb.Polygon{}, orb.Polygon{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := orb.Clone(tt.in)
			got := TransformGeometry(tt.in, shift)
			if !orb.Equal(got, tt.want) {
				t.Errorf("TransformGeometry(%v) = %v, want %v", tt.in, got, tt.want)
			}
			if !orb.Equal(tt.in, before) {
				t.Errorf("TransformGeometry changed its input to %v", tt.in)
			}
		})
	}

	// Nil stays nil, typed as it came in.
	if got := TransformGeometry(nil, shift); got != nil {
		t.Errorf("TransformGeometry(nil) = %v", got)
	}
	for _, g := range []orb.Geometry{orb.MultiPoint(nil), orb.LineString(nil), orb.Ring(nil), orb.MultiLineString(nil), orb.Polygon(nil), orb.MultiPolygon(nil), orb.Collection(nil)} {
		got := TransformGeometry(g, shift)
		if reflect.TypeOf(got) != reflect.TypeOf(g) || !reflect.ValueOf(got).IsNil() {
			t.Errorf("TransformGeometry(%T(nil)) = %#v, want %T(nil)", g, got, g)
		}
	}

	// A Bound must cover the image of all four corners, whichever corner
	// moves furthest.
	swirl := func(lon, lat float64) (float64, float64) { return lon + lat, lat - lon }
	b := TransformGeometry(orb.Bound{Min: orb.Point{0, 0}, Max: orb.Point{1, 1}}, swirl).(orb.Bound)
	if want := (orb.Bound{Min: orb.Point{0, -1}, Max: orb.Point{2, 1}}); !b.Equal(want) {
		t.Errorf("Bound under a rotation = %v, want %v", b, want)
	}

	// With a real conversion: a polygon over Ningbo, there and back.
	poly := orb.Polygon{{{121.5, 29.8}, {121.6, 29.8}, {121.6, 29.9}, {121.5, 29.9}, {121.5, 29.8}}}
	back := TransformGeometry(TransformGeometry(poly, WGS84ToBD09), BD09ToWGS84).(orb.Polygon)
	for i, p := range poly[0] {
		if d := metres(back[0][i][0], back[0][i][1], p[0], p[1]); d > 0.01 {
			t.Errorf("vertex %d came back %.3g m off", i, d)
		}
	}
}

// FuzzGCJ02RoundTrip checks that GCJ02ToWGS84 inverts WGS84ToGCJ02 for any
// finite point of the rectangle, and that any input at all, NaN and ±Inf
// included, comes back in bounded time without a panic. BD-09 is checked
// along the way since it is built on the same iteration.
func FuzzGCJ02RoundTrip(f *testing.F) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, p := range [][2]float64{
		{121.55, 29.875}, {116.404, 39.915}, {105, 35}, {105, 0.9}, {chinaMinLon, chinaMinLat}, {chinaMaxLon, chinaMaxLat},
		{0, 0}, {-180, -90}, {1e300, 1e300}, {nan, 30}, {120, nan}, {inf, -inf}, {-inf, 30}, {5e-324, -5e-324},
	} {
		f.Add(p[0], p[1])
	}
	f.Fuzz(func(t *testing.T, lon, lat float64) {
		// Whatever the input, the inverses must terminate and keep
		// non-finite input as it was.
		for name, inv := range map[string]func(float64, float64) (float64, float64){
			"GCJ02ToWGS84": GCJ02ToWGS84, "BD09ToGCJ02": BD09ToGCJ02, "BD09ToWGS84": BD09ToWGS84,
		} {
			iLon, iLat := inv(lon, lat)
			if !finite(lon) || !finite(lat) {
				if !(iLon == lon || math.IsNaN(iLon) && math.IsNaN(lon)) || !(iLat == lat || math.IsNaN(iLat) && math.IsNaN(lat)) {
					t.Fatalf("%s(%v, %v) = (%v, %v), want non-finite input unchanged", name, lon, lat, iLon, iLat)
				}
			} else if !finite(iLon) || !finite(iLat) {
				t.Fatalf("%s(%v, %v) = (%v, %v), not finite", name, lon, lat, iLon, iLat)
			}
		}

		gLon, gLat := WGS84ToGCJ02(lon, lat)
		if !inChina(lon, lat) {
			if !(gLon == lon || math.IsNaN(gLon) && math.IsNaN(lon)) || !(gLat == lat || math.IsNaN(gLat) && math.IsNaN(lat)) {
				t.Fatalf("WGS84ToGCJ02(%v, %v) = (%v, %v), want it unchanged outside China", lon, lat, gLon, gLat)
			}
			return
		}
		wLon, wLat := GCJ02ToWGS84(gLon, gLat)
		if d := metres(wLon, wLat, lon, lat); !(d < 0.01) {
			t.Fatalf("GCJ02ToWGS84(WGS84ToGCJ02(%v, %v)) = (%v, %v), %.3g m off", lon, lat, wLon, wLat, d)
		}
		bLon, bLat := WGS84ToBD09(lon, lat)
		wLon, wLat = BD09ToWGS84(bLon, bLat)
		if d := metres(wLon, wLat, lon, lat); !(d < 0.01) {
			t.Fatalf("BD09ToWGS84(WGS84ToBD09(%v, %v)) = (%v, %v), %.3g m off", lon, lat, wLon, wLat, d)
		}
	})
}

var sinkLon, sinkLat float64

func BenchmarkGCJ02ToWGS84(b *testing.B) {
	gLon, gLat := WGS84ToGCJ02(121.55, 29.875) // Ningbo
	for b.Loop() {
		sinkLon, sinkLat = GCJ02ToWGS84(gLon, gLat)
	}
}

func BenchmarkWGS84ToGCJ02(b *testing.B) {
	for b.Loop() {
		sinkLon, sinkLat = WGS84ToGCJ02(121.55, 29.875)
	}
}

func BenchmarkBD09ToWGS84(b *testing.B) {
	bLon, bLat := WGS84ToBD09(121.55, 29.875)
	for b.Loop() {
		sinkLon, sinkLat = BD09ToWGS84(bLon, bLat)
	}
}
