package geo

import (
	"math"
	"sort"
	"strconv"
	"strings"
)

// SizeRange bounds an area's households, both ends included. Grid
// management sizes its grids in households: one worker for 300–500 of
// them, a community of 3,000–5,000.
type SizeRange struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// Default size rules.
var (
	DefaultGridHouseholds      = SizeRange{Min: 300, Max: 500}
	DefaultCommunityHouseholds = SizeRange{Min: 3000, Max: 5000}
)

// ParseSizeRange reads "300-500" (or "300–500").
func ParseSizeRange(s string) (SizeRange, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), "–", "-")
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := strconv.Atoi(strings.TrimSpace(hi))
	if !ok || err1 != nil || err2 != nil {
		return SizeRange{}, Errorf(EINVALID, "size range %q is not MIN-MAX households, e.g. 300-500", s)
	}
	r := SizeRange{Min: a, Max: b}
	return r, r.Validate("size range")
}

// Validate refuses an empty or upside-down range.
func (r SizeRange) Validate(what string) error {
	if r.Min < 0 || r.Max <= 0 || r.Min > r.Max {
		return Errorf(EINVALID, "%s %d-%d households is not a range: give MIN-MAX with 0 ≤ MIN ≤ MAX, MAX > 0", what, r.Min, r.Max)
	}
	return nil
}

// String is "300–500".
func (r SizeRange) String() string { return strconv.Itoa(r.Min) + "–" + strconv.Itoa(r.Max) }

// Contains says whether n households are within the range.
func (r SizeRange) Contains(n int) bool { return n >= r.Min && n <= r.Max }

// SplitParts is the fewest parts that bring n households within r (each
// part at most Max); it is 1 when n is not above Max.
func (r SizeRange) SplitParts(n int) int {
	if n <= r.Max || r.Max <= 0 {
		return 1
	}
	return (n + r.Max - 1) / r.Max
}

// WeightedPoint is a building for the split: where it stands (metres in
// any planar frame), its households, and an id to say where it went.
type WeightedPoint struct {
	ID         int64
	X, Y       float64
	Households int
}

// SplitByGaps divides the points of one grid into k parts of about equal
// households, so that no part is above r.Max where that is possible and
// the cuts fall in the widest gaps between buildings. It bisects
// recursively: each cut runs across the longer side of the points' box,
// at the widest gap among the positions that keep both sides within the
// range for their share of the parts (closest to the balanced cut when
// none does). Points at the same position always stay together. It
// returns the part (0..k-1) of each point, in the order given.
func SplitByGaps(pts []WeightedPoint, k int, r SizeRange) []int {
	part := make([]int, len(pts))
	idx := make([]int, len(pts))
	for i := range idx {
		idx[i] = i
	}
	next := 0
	var split func(ix []int, k int)
	split = func(ix []int, k int) {
		if k <= 1 || len(ix) <= 1 {
			for _, i := range ix {
				part[i] = next
			}
			next++
			return
		}
		k1 := k / 2
		// Cut across the longer side of the box.
		minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
		for _, i := range ix {
			p := pts[i]
			minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
			minY, maxY = math.Min(minY, p.Y), math.Max(maxY, p.Y)
		}
		key := func(i int) float64 { return pts[i].X }
		if maxY-minY > maxX-minX {
			key = func(i int) float64 { return pts[i].Y }
		}
		sort.SliceStable(ix, func(a, b int) bool {
			ka, kb := key(ix[a]), key(ix[b])
			if ka != kb {
				return ka < kb
			}
			return pts[ix[a]].ID < pts[ix[b]].ID
		})
		total := 0
		for _, i := range ix {
			total += pts[i].Households
		}
		target := float64(total) * float64(k1) / float64(k)
		// A side of j parts is later cut j-1 times, each cut missing its
		// target by up to the largest building: leave it that much room
		// where the range allows, else take any cut within the range.
		big := 0
		for _, i := range ix {
			big = max(big, pts[i].Households)
		}
		fits := func(n, j, slack int) bool { return n >= j*r.Min+(j-1)*slack && n <= j*r.Max-(j-1)*slack }
		best := -1
		for _, slack := range []int{big, 0} {
			bestGap, bestDev := -1.0, math.Inf(1)
			left := 0
			for c := 1; c < len(ix); c++ {
				left += pts[ix[c-1]].Households
				gap := key(ix[c]) - key(ix[c-1])
				if gap <= 0 {
					continue // same position: never separated
				}
				if !fits(left, k1, slack) || !fits(total-left, k-k1, slack) {
					continue
				}
				dev := math.Abs(float64(left) - target)
				if gap > bestGap || (gap == bestGap && dev < bestDev) {
					best, bestGap, bestDev = c, gap, dev
				}
			}
			if best >= 0 {
				break
			}
		}
		if best < 0 { // nothing within the range: the balanced cut
			dev, left := math.Inf(1), 0
			for c := 1; c < len(ix); c++ {
				left += pts[ix[c-1]].Households
				if key(ix[c]) > key(ix[c-1]) && math.Abs(float64(left)-target) < dev {
					best, dev = c, math.Abs(float64(left)-target)
				}
			}
		}
		if best < 0 { // every point at one position
			for _, i := range ix {
				part[i] = next
			}
			next++
			return
		}
		a := append([]int(nil), ix[:best]...)
		b := append([]int(nil), ix[best:]...)
		split(a, k1)
		split(b, k-k1)
	}
	split(idx, k)
	return part
}

// PlanSplit divides the buildings of a grid above r.Max into the fewest
// parts that are all within r (geo.SplitByGaps for each number of parts
// from the least that could do). It returns the part of each point and
// whether every part is within the range; when none is, a part within
// the range and a piece below it (trim), else the split into the least
// number of parts.
func PlanSplit(pts []WeightedPoint, r SizeRange) ([]int, bool) {
	total := 0
	for _, p := range pts {
		total += p.Households
	}
	k0 := r.SplitParts(total)
	for k := k0; k <= max(k0, total/max(r.Min, 1)); k++ {
		parts := SplitByGaps(pts, k, r)
		sums := make([]int, k)
		for i, p := range parts {
			sums[p] += pts[i].Households
		}
		ok := true
		for _, s := range sums {
			ok = ok && r.Contains(s)
		}
		if ok {
			return parts, true
		}
		if k == k0+8 { // more parts will not help: the buildings are too big for the range
			break
		}
	}
	if parts, ok := trim(pts, r); ok {
		return parts, false
	}
	return SplitByGaps(pts, k0, r), false
}

// trim cuts the smallest piece off one end of the buildings (along the
// longer side of their box) that leaves the rest within r: for a grid
// that no number of parts brings within the range (540 households and a
// rule of 300–500), the piece is then joined to a neighbour with room.
// Part 0 is the rest, part 1 the piece.
func trim(pts []WeightedPoint, r SizeRange) ([]int, bool) {
	ix := make([]int, len(pts))
	minX, maxX, minY, maxY := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	total := 0
	for i, p := range pts {
		ix[i] = i
		minX, maxX = math.Min(minX, p.X), math.Max(maxX, p.X)
		minY, maxY = math.Min(minY, p.Y), math.Max(maxY, p.Y)
		total += p.Households
	}
	key := func(i int) float64 { return pts[i].X }
	if maxY-minY > maxX-minX {
		key = func(i int) float64 { return pts[i].Y }
	}
	sort.SliceStable(ix, func(a, b int) bool { return key(ix[a]) < key(ix[b]) })
	bestCut, bestPiece, fromStart := -1, total+1, false
	left := 0
	for c := 1; c < len(ix); c++ {
		left += pts[ix[c-1]].Households
		if key(ix[c]) <= key(ix[c-1]) {
			continue
		}
		if right := total - left; r.Contains(right) && left < bestPiece { // the piece is ix[:c]
			bestCut, bestPiece, fromStart = c, left, true
		}
		if r.Contains(left) && total-left < bestPiece { // the piece is ix[c:]
			bestCut, bestPiece, fromStart = c, total-left, false
		}
	}
	if bestCut < 0 {
		return nil, false
	}
	parts := make([]int, len(pts))
	for n, i := range ix {
		if (n < bestCut) == fromStart {
			parts[i] = 1
		}
	}
	return parts, true
}

// SizeBin is one bar of a households histogram: grids with From ≤
// households < To.
type SizeBin struct {
	From  int `json:"from"`
	To    int `json:"to"`
	Grids int `json:"grids"`
}

// SizeSummary is the distribution of households per grid before (the
// active generation) and after (the draft), with the rules they are
// judged by and how many areas are out of range.
type SizeSummary struct {
	Grid            SizeRange `json:"grid_households"`
	Community       SizeRange `json:"community_households"`
	Source          string    `json:"source"` // data (buildings) or attribute
	Before          []SizeBin `json:"before,omitempty"`
	After           []SizeBin `json:"after"`
	GridsOver       int       `json:"grids_over"`
	GridsUnder      int       `json:"grids_under"`
	CommunitiesOver int       `json:"communities_over"`
	CommunitiesUnd  int       `json:"communities_under"`
	Split           int       `json:"grids_split,omitempty"`  // by the rebalance
	Joined          int       `json:"grids_joined,omitempty"` // by the rebalance
	Unsolved        []string  `json:"unsolved,omitempty"`     // grids the rebalance could not bring in range, and why
}

// SizeBinWidth is the width of the histogram's bars, in households.
const SizeBinWidth = 100

// Histogram counts households per grid in bars of SizeBinWidth, from 0
// to the largest, empty bars included so that two histograms line up.
func Histogram(households []int) []SizeBin {
	top := 0
	for _, h := range households {
		top = max(top, h)
	}
	bins := make([]SizeBin, top/SizeBinWidth+1)
	for i := range bins {
		bins[i] = SizeBin{From: i * SizeBinWidth, To: (i + 1) * SizeBinWidth}
	}
	for _, h := range households {
		if h < 0 {
			h = 0
		}
		bins[h/SizeBinWidth].Grids++
	}
	return bins
}
