package geo

// How a point was matched to a grid. Every point inside the coverage is
// MatchInside; outside it, the routing rule decides between the nearest
// grid within a tolerance (flagged, because a person should glance at
// it), the nearest district's unassigned queue, and nothing at all.
const (
	MatchInside   = "inside"   // a grid covers the point (ties: the smallest code)
	MatchNearest  = "nearest"  // outside the coverage, the nearest grid within the tolerance
	MatchDistrict = "district" // beyond the tolerance: the nearest district's unassigned queue
	MatchNone     = "none"     // no district within reach: nobody is responsible
)

// Location is where a point lies in one generation and how it was found:
// the chain of the grid (derived from the grid's parents, so the levels
// always nest), or the district alone for MatchDistrict.
type Location struct {
	Chain
	Match     string  `json:"match"`
	DistanceM float64 `json:"distance_m"` // to the grid or district, 0 when inside
}

// Codes returns the codes of the chain from the grid up, skipping missing
// levels: the order in which responsibility is looked for.
func (c Chain) Codes() []string {
	var out []string
	for _, r := range []*AreaRef{c.Grid, c.Community, c.Street, c.District} {
		if r != nil {
			out = append(out, r.Code)
		}
	}
	return out
}

// Ref returns the chain's area at level l, nil when it has none.
func (c Chain) Ref(l Level) *AreaRef {
	switch l {
	case District:
		return c.District
	case Street:
		return c.Street
	case Community:
		return c.Community
	case Grid:
		return c.Grid
	}
	return nil
}
