package pointindex

import (
	"math"
	"math/big"
)

// Exact geometric predicates. Everything the index decides (is the point on
// this edge, which side of this line is it, does this segment cross that
// one) goes through orient, which returns the sign of the exact determinant
// of the float64 inputs, as GEOS's robust orientation index does. A point
// exactly on a shared border is therefore found on the border, never a hair
// inside one neighbour because of rounding.

// ccwErrBoundA is Shewchuk's a-priori bound for the float64 evaluation of the
// orientation determinant ("Adaptive Precision Floating-Point Arithmetic and
// Fast Robust Geometric Predicates", 1997): when |det| exceeds
// ccwErrBoundA*(|detleft|+|detright|), the rounded det has the exact sign.
const ccwErrBoundA = (3 + 16*epsilon) * epsilon

const epsilon = 1.0 / (1 << 53) // half an ulp of 1

// minBound is where the fast path stops trusting its error bound: below it
// products may be subnormal and lose bits the bound does not account for.
const minBound = 1e-280

// orient returns +1 when c lies to the left of the directed line a→b (a, b,
// c counter-clockwise), -1 when it lies to the right and 0 when the three
// points are collinear. The sign is exact for all finite inputs.
func orient(ax, ay, bx, by, cx, cy float64) int {
	// float64() stops the compiler fusing into FMAs, which would change the
	// rounding the error bound was derived for.
	l := float64((ax - cx) * (by - cy))
	r := float64((ay - cy) * (bx - cx))
	det := l - r
	bound := ccwErrBoundA * (math.Abs(l) + math.Abs(r))
	if bound >= minBound {
		if det > bound {
			return 1
		}
		if -det > bound {
			return -1
		}
	}
	return orientExact(ax, ay, bx, by, cx, cy)
}

// orientExact is the slow path of orient: the determinant expanded into six
// products, each split exactly into a float64 and its rounding error with an
// FMA, and the twelve terms summed exactly as a Shewchuk expansion. No heap
// allocation, so Locate stays allocation-free for points on borders, which
// is exactly when this path runs.
func orientExact(ax, ay, bx, by, cx, cy float64) int {
	// Both products are exactly zero: the usual case for points on
	// axis-parallel edges and at vertices, answered without any arithmetic.
	// (x-y == 0 exactly iff x == y, thanks to gradual underflow.)
	if (ax == cx || by == cy) && (ay == cy || bx == cx) {
		return 0
	}
	// det = (ax-cx)(by-cy) - (ay-cy)(bx-cx)
	//     = ax·by - ax·cy - cx·by - ay·bx + ay·cx + cy·bx
	f := [6][2]float64{{ax, by}, {-ax, cy}, {-cx, by}, {-ay, bx}, {ay, cx}, {cy, bx}}
	var e [12]float64 // the expansion, increasing magnitude, non-overlapping
	n := 0
	for _, xy := range f {
		p := xy[0] * xy[1]
		// The FMA error term is exact only if nothing over- or underflows;
		// otherwise fall back to rationals (never for lon/lat data).
		if math.IsInf(p, 0) || (xy[0] != 0 && xy[1] != 0 && math.Abs(p) < 1e-290) {
			return orientBig(ax, ay, bx, by, cx, cy)
		}
		err := math.FMA(xy[0], xy[1], -p)
		n = grow(&e, n, err)
		n = grow(&e, n, p)
	}
	if n == 0 {
		return 0
	}
	// The sign of a non-overlapping expansion is that of its largest term.
	if e[n-1] > 0 {
		return 1
	}
	return -1
}

// grow adds b to the expansion e[:n] exactly (Shewchuk's Grow-Expansion with
// zero elimination) and returns the new length.
func grow(e *[12]float64, n int, b float64) int {
	q := b
	k := 0
	for i := 0; i < n; i++ {
		s, err := twoSum(q, e[i])
		if err != 0 {
			e[k] = err
			k++
		}
		q = s
	}
	if q != 0 {
		e[k] = q
		k++
	}
	return k
}

// twoSum returns s = fl(a+b) and the exact error a+b-s (Knuth).
func twoSum(a, b float64) (s, err float64) {
	s = a + b
	bv := s - a
	av := s - bv
	return s, (a - av) + (b - bv)
}

// orientBig is the exact determinant in rational arithmetic, for inputs
// whose products over- or underflow float64.
func orientBig(ax, ay, bx, by, cx, cy float64) int {
	rat := func(v float64) *big.Rat { return new(big.Rat).SetFloat64(v) }
	dax := new(big.Rat).Sub(rat(ax), rat(cx))
	dby := new(big.Rat).Sub(rat(by), rat(cy))
	day := new(big.Rat).Sub(rat(ay), rat(cy))
	dbx := new(big.Rat).Sub(rat(bx), rat(cx))
	l := new(big.Rat).Mul(dax, dby)
	r := new(big.Rat).Mul(day, dbx)
	return l.Cmp(r)
}

// onSegment reports whether p lies on the closed segment a–b, exactly.
func onSegment(ax, ay, bx, by, px, py float64) bool {
	if px < min(ax, bx) || px > max(ax, bx) || py < min(ay, by) || py > max(ay, by) {
		return false
	}
	return orient(ax, ay, bx, by, px, py) == 0
}

// crosses reports whether the polygon edge a–b crosses the segment c–d,
// where neither c nor d lies on the edge. It is the crossing rule of the
// index's parity test, a half-open rule like the classic horizontal ray's:
// a vertex exactly on the line through c and d counts as lying on its right
// (as if the line were shifted a hair to the left), so a path through a
// vertex is counted once, or twice when it only touches, and the parity
// along c→d always equals the change of inside/outside from c to d.
func crosses(cx, cy, dx, dy, ax, ay, bx, by float64) bool {
	if max(ax, bx) < min(cx, dx) || min(ax, bx) > max(cx, dx) ||
		max(ay, by) < min(cy, dy) || min(ay, by) > max(cy, dy) {
		return false // the boxes are apart: the common case, decided cheaply
	}
	if (orient(cx, cy, dx, dy, ax, ay) > 0) == (orient(cx, cy, dx, dy, bx, by) > 0) {
		return false
	}
	// a and b are on opposite sides of the line cd, so the edge meets it in
	// one point; that point is strictly between c and d iff c and d are on
	// opposite sides of the edge's line. Neither can be on that line: it
	// would then be the meeting point, which lies on the edge.
	return (orient(ax, ay, bx, by, cx, cy) > 0) != (orient(ax, ay, bx, by, dx, dy) > 0)
}

// segTouchesBox reports whether the closed segment a–b meets the closed box
// [x0,x1]×[y0,y1], exactly (separating axes: the box's two and the edge's
// normal).
func segTouchesBox(ax, ay, bx, by, x0, y0, x1, y1 float64) bool {
	if max(ax, bx) < x0 || min(ax, bx) > x1 || max(ay, by) < y0 || min(ay, by) > y1 {
		return false
	}
	if (ax >= x0 && ax <= x1 && ay >= y0 && ay <= y1) || (bx >= x0 && bx <= x1 && by >= y0 && by <= y1) {
		return true
	}
	s := orient(ax, ay, bx, by, x0, y0)
	if s == 0 {
		return true
	}
	for _, c := range [3][2]float64{{x1, y0}, {x1, y1}, {x0, y1}} {
		if orient(ax, ay, bx, by, c[0], c[1]) != s {
			return true
		}
	}
	return false
}
