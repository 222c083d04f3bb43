package routing

import (
	"math"

	"github.com/paulmach/orb"
)

// raster is a fine uniform grid over the coverage that answers most
// lookups with one array read, in front of the exact index. A cell that no
// grid border comes near is "pure": its whole closed box lies inside one
// grid, or outside all, so every point in it has the answer its centre
// has, exactly. Only points in the cells that borders cross ("mixed") go
// on to pointindex, whose exact predicates decide borders and vertices.
// The answer is therefore always pointindex's, tie rule included; the
// raster only skips the work where nothing can be on a border.
//
// Why pure means exact: a cell is pure when no border segment comes within
// a small margin of its closed box. Then no item's boundary meets the box,
// so each item covers all of it or none of it, and the set of covering
// items (hence the tie rule's answer) is the same everywhere in it. Two
// adjacent pure cells share a side and together contain no boundary
// either, so a whole connected region of pure cells has one answer: the
// build labels regions by flood fill and asks the exact index once per
// region. The margin (1e-6 of a cell) exceeds the rounding of the
// float64 cell arithmetic by orders of magnitude, so a point that rounding
// assigns to a neighbouring pure cell is still farther from every border
// than that rounding, and the neighbour's answer is its answer too.
type raster struct {
	x0, y0 float64 // the lower left corner
	sx, sy float64 // cells per degree
	nx, ny int
	// Each cell holds cellMixed, cellNone, or cellBase + grid number: in
	// c16 when every value fits 16 bits (up to 65,533 grids), half the
	// memory and so fewer cache misses, else in cells.
	cells []uint32
	c16   []uint16
}

const (
	cellMixed = 0 // ask the index
	cellNone  = 1 // no grid covers the cell
	cellBase  = 2 // cellBase + n: grid n (in key order) covers the whole cell
)

// Raster sizing: about cellsPerGrid cells per grid (cells of a few dozen
// metres for grids of a few hundred), within [minCells, maxCells]; a raster
// whose pure cells are fewer than minPure of all is not worth its memory.
const (
	cellsPerGrid = 1600
	minCells     = 1 << 12
	maxCells     = 1 << 23
	minPure      = 0.3
	cellMargin   = 1e-6 // of a cell, around every border segment
)

// buildRaster rasterises the grids' borders over their extent and labels
// the pure regions with locate's answer at one point of each (-1 for no
// grid). It returns nil when the raster would not pay.
func buildRaster(polys []orb.MultiPolygon, locate func(orb.Point) int) *raster {
	var ext orb.Bound
	first := true
	for _, mp := range polys {
		if len(mp) == 0 {
			continue
		}
		if first {
			ext, first = mp.Bound(), false
		} else {
			ext = ext.Union(mp.Bound())
		}
	}
	w, h := ext.Max[0]-ext.Min[0], ext.Max[1]-ext.Min[1]
	if first || !(w > 0 && h > 0) || len(polys) == 0 {
		return nil
	}
	// Square cells on the ground: a degree of longitude is shorter.
	kx := math.Cos((ext.Min[1] + ext.Max[1]) / 2 * math.Pi / 180)
	if kx < 0.05 {
		kx = 0.05
	}
	target := float64(min(max(cellsPerGrid*len(polys), minCells), maxCells))
	c := math.Sqrt(w * kx * h / target) // cell side in degrees of latitude
	nx, ny := max(1, int(math.Ceil(w*kx/c))), max(1, int(math.Ceil(h/c)))
	for nx*ny > maxCells {
		c *= 1.05
		nx, ny = max(1, int(math.Ceil(w*kx/c))), max(1, int(math.Ceil(h/c)))
	}
	r := &raster{x0: ext.Min[0], y0: ext.Min[1], sx: float64(nx) / w, sy: float64(ny) / h, nx: nx, ny: ny}
	const unlabelled = math.MaxUint32
	r.cells = make([]uint32, nx*ny)
	for i := range r.cells {
		r.cells[i] = unlabelled
	}
	mixed := 0
	mark := func(ax, ay, bx, by float64) {
		i0 := r.clampX(int(math.Floor((min(ax, bx)-r.x0)*r.sx - cellMargin)))
		i1 := r.clampX(int(math.Floor((max(ax, bx)-r.x0)*r.sx + cellMargin)))
		j0 := r.clampY(int(math.Floor((min(ay, by)-r.y0)*r.sy - cellMargin)))
		j1 := r.clampY(int(math.Floor((max(ay, by)-r.y0)*r.sy + cellMargin)))
		for j := j0; j <= j1; j++ {
			row := r.cells[j*nx : (j+1)*nx]
			for i := i0; i <= i1; i++ {
				if row[i] != cellMixed {
					row[i] = cellMixed
					mixed++
				}
			}
		}
	}
	for _, mp := range polys {
		for _, poly := range mp {
			for _, ring := range poly {
				for k := 0; k < len(ring); k++ {
					a, b := ring[k], ring[(k+1)%len(ring)]
					// Pieces of at most a cell, so that a long or
					// diagonal edge marks the cells it crosses, not its
					// whole bounding box. Each piece's box holds its part
					// of the edge up to rounding, which the margin covers.
					n := int(math.Ceil(max(math.Abs(b[0]-a[0])*r.sx, math.Abs(b[1]-a[1])*r.sy)))
					n = max(1, min(n, 1<<20))
					px, py := a[0], a[1]
					for s := 1; s <= n; s++ {
						qx, qy := b[0], b[1]
						if s < n {
							t := float64(s) / float64(n)
							qx, qy = a[0]+t*(b[0]-a[0]), a[1]+t*(b[1]-a[1])
						}
						mark(px, py, qx, qy)
						px, py = qx, qy
					}
				}
			}
		}
	}
	if float64(len(r.cells)-mixed) < minPure*float64(len(r.cells)) {
		return nil
	}
	// Label the connected regions of pure cells, then give each region the
	// exact answer at the centre of one of its cells.
	var answers []uint32
	stack := []int{}
	for start, v := range r.cells {
		if v != unlabelled {
			continue
		}
		label := uint32(len(answers)) + cellBase
		i, j := start%nx, start/nx
		cx, cy := r.x0+(float64(i)+0.5)/r.sx, r.y0+(float64(j)+0.5)/r.sy
		ans := uint32(cellNone)
		if n := locate(orb.Point{cx, cy}); n >= 0 {
			ans = cellBase + uint32(n)
		}
		answers = append(answers, ans)
		r.cells[start] = label
		stack = append(stack[:0], start)
		for len(stack) > 0 {
			k := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			ki, kj := k%nx, k/nx
			for _, nb := range [4][2]int{{ki - 1, kj}, {ki + 1, kj}, {ki, kj - 1}, {ki, kj + 1}} {
				if nb[0] < 0 || nb[0] >= nx || nb[1] < 0 || nb[1] >= ny {
					continue
				}
				m := nb[1]*nx + nb[0]
				if r.cells[m] == unlabelled {
					r.cells[m] = label
					stack = append(stack, m)
				}
			}
		}
	}
	for k, v := range r.cells {
		if v >= cellBase {
			r.cells[k] = answers[v-cellBase]
		}
	}
	if cellBase+len(polys) <= math.MaxUint16 {
		r.c16 = make([]uint16, len(r.cells))
		for k, v := range r.cells {
			r.c16[k] = uint16(v)
		}
		r.cells = nil
	}
	return r
}

func (r *raster) clampX(i int) int { return min(max(i, 0), r.nx-1) }
func (r *raster) clampY(j int) int { return min(max(j, 0), r.ny-1) }

// at returns the cell's answer for (x, y): cellMixed (also outside the
// raster and for NaN) sends the point on to the exact index.
func (r *raster) at(x, y float64) uint32 {
	fx, fy := (x-r.x0)*r.sx, (y-r.y0)*r.sy
	// Written so that NaN fails it too.
	if !(fx >= 0 && fx <= float64(r.nx) && fy >= 0 && fy <= float64(r.ny)) {
		return cellMixed
	}
	k := r.clampY(int(fy))*r.nx + r.clampX(int(fx))
	if r.c16 != nil {
		return uint32(r.c16[k])
	}
	return r.cells[k]
}

// pure returns the share of pure cells, for reports.
func (r *raster) pure() float64 {
	if r == nil {
		return 0
	}
	n := 0
	for k := 0; k < r.nx*r.ny; k++ {
		if r.at(r.x0+(float64(k%r.nx)+0.5)/r.sx, r.y0+(float64(k/r.nx)+0.5)/r.sy) != cellMixed {
			n++
		}
	}
	return float64(n) / float64(r.nx*r.ny)
}
