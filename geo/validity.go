package geo

import (
	"cmp"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// ProvablyValid reports whether a polygon or multipolygon is certainly
// valid in the OGC sense PostGIS's ST_IsValid applies, by a test that is
// cheap and errs only one way: true means valid; false means "not proven"
// and the caller asks GEOS. Imports use it to spare GEOS the great
// majority of features, which are simple rings, and to keep GEOS's exact
// verdict (and its reason) for the rest.
//
// Proven are polygons of one closed ring of at least four points whose
// segments meet only where neighbours share an endpoint, with no
// repeated points and no spike (a neighbour folding back along its
// predecessor); several such polygons when their bounding boxes are
// disjoint. Polygons with holes, touching parts and any orientation test
// too close to zero for float arithmetic to decide are left to GEOS.
func ProvablyValid(g orb.Geometry) bool {
	switch g := g.(type) {
	case orb.Polygon:
		return len(g) == 1 && simpleRing(g[0])
	case orb.MultiPolygon:
		if len(g) == 0 {
			return false
		}
		for i, p := range g {
			if len(p) != 1 || !simpleRing(p[0]) {
				return false
			}
			for _, q := range g[:i] {
				if p.Bound().Intersects(q.Bound()) {
					return false
				}
			}
		}
		return true
	}
	return false
}

// orientation is the sign of the turn a→b→c: +1 left, -1 right, and 0
// when its magnitude is within the float rounding error of the
// determinant, i.e. when float arithmetic cannot tell.
func orientation(a, b, c orb.Point) int {
	l := (b[0] - a[0]) * (c[1] - a[1])
	r := (b[1] - a[1]) * (c[0] - a[0])
	det := l - r
	// 1e-12 relative is far above the error bound of this determinant
	// (a few units of 2^-53), so a sign beyond it is the exact sign.
	if math.Abs(det) <= 1e-12*(math.Abs(l)+math.Abs(r)) {
		return 0
	}
	if det > 0 {
		return 1
	}
	return -1
}

type ringSegment struct {
	a, b       orb.Point
	i          int // index of the segment in the ring
	minX, maxX float64
}

// simpleRing reports whether a ring is closed, has at least four points
// and certainly does not touch itself.
func simpleRing(r orb.Ring) bool {
	n := len(r) - 1 // segments
	if n < 3 || r[0] != r[n] {
		return false
	}
	var small [32]ringSegment
	segs := small[:0]
	if n > len(small) {
		segs = make([]ringSegment, 0, n)
	}
	for i := 0; i < n; i++ {
		a, b := r[i], r[i+1]
		if a == b {
			return false
		}
		segs = append(segs, ringSegment{a: a, b: b, i: i, minX: math.Min(a[0], b[0]), maxX: math.Max(a[0], b[0])})
		// The turn at b between this segment and the next: collinear is
		// fine only when the ring carries straight on.
		c := r[(i+2)%n] // for the last segment: r[1]
		if orientation(a, b, c) == 0 {
			if (b[0]-a[0])*(c[0]-b[0])+(b[1]-a[1])*(c[1]-b[1]) <= 0 {
				return false
			}
		}
	}
	// Long rings are swept in x (only segments whose x ranges overlap can
	// meet); short ones, most grids, are cheaper compared pairwise.
	sorted := n > len(small)
	if sorted {
		slices.SortFunc(segs, func(a, b ringSegment) int { return cmp.Compare(a.minX, b.minX) })
	}
	for i := range segs {
		s := &segs[i]
		for j := i + 1; j < len(segs); j++ {
			t := &segs[j]
			if t.minX > s.maxX {
				if sorted {
					break
				}
				continue
			}
			if t.maxX < s.minX {
				continue
			}
			d := s.i - t.i
			if d == 1 || d == -1 || d == n-1 || d == 1-n {
				continue // neighbours share exactly their endpoint (turn checked above)
			}
			if math.Max(s.a[1], s.b[1]) < math.Min(t.a[1], t.b[1]) || math.Max(t.a[1], t.b[1]) < math.Min(s.a[1], s.b[1]) {
				continue
			}
			if segmentsMayMeet(s.a, s.b, t.a, t.b) {
				return false
			}
		}
	}
	return true
}

// segmentsMayMeet reports whether segments pq and rs intersect or touch,
// or float arithmetic cannot rule it out.
func segmentsMayMeet(p, q, r, s orb.Point) bool {
	o1, o2 := orientation(p, q, r), orientation(p, q, s)
	o3, o4 := orientation(r, s, p), orientation(r, s, q)
	if o1 == 0 || o2 == 0 || o3 == 0 || o4 == 0 {
		return true
	}
	return o1 != o2 && o3 != o4
}
