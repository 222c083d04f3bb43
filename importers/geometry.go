package importers

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// checkGeometry counts the vertices of g and looks for coordinates that are
// not finite numbers. It returns a description to be prefixed with the
// feature's name ("has …"), or "" when g is fine. Readers that learn the
// vertex count from a header refuse oversized features before reading them;
// this check is what every reader runs on what it did read.
func checkGeometry(g orb.Geometry, maxVertices int) string {
	n := 0
	bad := orb.Point{}
	found := false
	visit := func(ps []orb.Point) {
		n += len(ps)
		if found {
			return
		}
		for _, p := range ps {
			if !finite(p[0]) || !finite(p[1]) {
				bad, found = p, true
				return
			}
		}
	}
	var walk func(g orb.Geometry)
	walk = func(g orb.Geometry) {
		switch g := g.(type) {
		case orb.Point:
			visit([]orb.Point{g})
		case orb.MultiPoint:
			visit(g)
		case orb.LineString:
			visit(g)
		case orb.Ring:
			visit(g)
		case orb.MultiLineString:
			for _, l := range g {
				visit(l)
			}
		case orb.Polygon:
			for _, r := range g {
				visit(r)
			}
		case orb.MultiPolygon:
			for _, p := range g {
				for _, r := range p {
					visit(r)
				}
			}
		case orb.Collection:
			for _, c := range g {
				walk(c)
			}
		}
	}
	walk(g)
	if n > maxVertices {
		return tooManyVertices(n, maxVertices)
	}
	if found {
		return fmt.Sprintf("has a coordinate that is not a finite number (%v, %v): fix or delete this feature", bad[0], bad[1])
	}
	return ""
}

// tooManyVertices is the one wording of the vertex limit.
func tooManyVertices(n, max int) string {
	return fmt.Sprintf("has %d vertices, more than the limit of %d: simplify or split it (or raise the vertex limit)", n, max)
}

// overVertexLimit is the wording for a reader that stops counting at the
// limit, not knowing the total.
func overVertexLimit(max int) string {
	return fmt.Sprintf("has more than %d vertices, the limit: simplify or split it (or raise the vertex limit)", max)
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// closeRing appends the first point when a ring does not end where it
// starts. Shapefile and KML both require closed rings, and PostGIS rejects
// an open one for the whole import without saying which feature, so an
// open ring is closed here the way GDAL does: the closing edge is implied
// by the format, so nothing about the shape changes.
func closeRing(r orb.Ring) orb.Ring {
	if len(r) > 0 && r[0] != r[len(r)-1] {
		r = append(r, r[0])
	}
	return r
}

// ringWorkBudget bounds the point-in-ring work spent on finding which
// outer ring each hole of a shapefile polygon belongs to. Real polygons use
// a tiny fraction; a hostile record with a hundred thousand overlapping
// rings would otherwise take hours. Past the budget holes go to the first
// outer ring whose box holds them, and PostGIS's repair sorts out the rest.
const ringWorkBudget = 50_000_000

// assembleRings turns the rings of a shapefile polygon record into a
// Polygon or MultiPolygon. The format lists rings without saying which
// hole belongs to which outer ring: outer rings run clockwise, holes
// counter-clockwise, and a hole belongs to the smallest outer ring that
// contains it. Files whose rings all run one way (some writers ignore the
// rule) get every ring as an outer ring, as GDAL does.
func assembleRings(rings []orb.Ring) orb.Geometry {
	type outer struct {
		ring  orb.Ring
		bound orb.Bound
		area  float64
		holes []orb.Ring
	}
	var outers []*outer
	var holes []orb.Ring
	for _, r := range rings {
		if a := signedArea(r); a > 0 {
			holes = append(holes, r)
		} else {
			outers = append(outers, &outer{ring: r, bound: r.Bound(), area: -a})
		}
	}
	if len(outers) == 0 {
		for _, h := range holes {
			outers = append(outers, &outer{ring: h, bound: h.Bound(), area: signedArea(h)})
		}
		holes = nil
	}
	work := 0
	for _, h := range holes {
		hb := h.Bound()
		var best, first *outer
		for _, o := range outers {
			if !o.bound.Contains(hb.Min) || !o.bound.Contains(hb.Max) {
				continue
			}
			if first == nil {
				first = o
			}
			if work > ringWorkBudget {
				break
			}
			work += len(o.ring)
			if (best == nil || o.area < best.area) && planar.RingContains(o.ring, h[0]) {
				best = o
			}
		}
		if best == nil {
			best = first
		}
		if best == nil {
			// A hole outside every outer ring is an island drawn the wrong
			// way round: keep it as a polygon of its own.
			outers = append(outers, &outer{ring: h, bound: hb, area: signedArea(h)})
			continue
		}
		best.holes = append(best.holes, h)
	}
	mp := make(orb.MultiPolygon, 0, len(outers))
	for _, o := range outers {
		p := make(orb.Polygon, 0, 1+len(o.holes))
		p = append(p, o.ring)
		p = append(p, o.holes...)
		mp = append(mp, p)
	}
	if len(mp) == 1 {
		return mp[0]
	}
	return mp
}

// signedArea is the shoelace area of r: positive when it runs
// counter-clockwise (x east, y north), negative when clockwise.
func signedArea(r orb.Ring) float64 {
	if len(r) < 3 {
		return 0
	}
	// Offsetting by the first point keeps the products small, so that
	// projected coordinates in the tens of millions do not lose the area of
	// a small ring to rounding.
	x0, y0 := r[0][0], r[0][1]
	s := 0.0
	for i := 0; i+1 < len(r); i++ {
		s += (r[i][0]-x0)*(r[i+1][1]-y0) - (r[i+1][0]-x0)*(r[i][1]-y0)
	}
	return s / 2
}
