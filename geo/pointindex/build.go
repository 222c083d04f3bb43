package pointindex

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

// Tuning. A leaf with at most maxLeafEdges edges costs Locate a few dozen
// nanoseconds; splitting further mostly costs memory. maxDepth bounds the
// tree where many edges meet in one vertex and splitting cannot separate
// them. edgesPerTopCell sets the top grid's size when polygons have many
// vertices; otherwise it has about one cell per polygon.
const (
	maxLeafEdges    = 16
	maxDepth        = 12
	edgesPerTopCell = 32
	maxTopCells     = 1 << 21
)

// ring is pts[first:last]; pts[last-1] repeats pts[first].
type ring struct{ first, last uint32 }

// part is one polygon (shell and holes) of an item.
type part struct {
	item                uint32
	ringFirst, ringLast uint32 // rings[ringFirst:ringLast]
	bound               orb.Bound
}

// builder holds the flattened input while Build runs.
type builder struct {
	pts    []orb.Point
	ptPart []uint32 // part of each vertex, hence of the edge starting there
	rings  []ring
	parts  []part

	workers int // goroutines to build with
}

// Build indexes items. The order of items does not matter. Keys must be
// non-empty and unique; every item needs at least one polygon, every ring at
// least three points, and every coordinate must be finite: otherwise Build
// returns a geo.Error with code EINVALID. Polygons are taken as given, not
// repaired: Locate answers ST_Covers exactly for valid ones.
func Build(items []Item) (*Index, error) {
	if len(items) >= none { // item numbers must stay below none
		return nil, geo.Errorf(geo.ETOOLARGE, "%d items is more than a point index holds", len(items))
	}
	order := make([]int, len(items))
	for i := range order {
		order[i] = i
	}
	// Item numbers follow key order, so the tie rule is "smallest number".
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(items[a].Key, items[b].Key) })
	keys := make([]string, len(items))
	for n, i := range order {
		k := items[i].Key
		if k == "" {
			return nil, geo.Errorf(geo.EINVALID, "item %d has an empty key: give every area its code", i)
		}
		if n > 0 && k == keys[n-1] {
			return nil, geo.Errorf(geo.EINVALID, "two items have the key %q: keys must be unique, merge their geometries into one MultiPolygon", k)
		}
		keys[n] = k
	}
	// Size the vertex arrays up front: they are the bulk of the input.
	nPts := 0
	for _, it := range items {
		for _, poly := range it.Geometry {
			for _, r := range poly {
				nPts += len(r) + 1
			}
		}
	}
	b := &builder{pts: make([]orb.Point, 0, nPts), ptPart: make([]uint32, 0, nPts)}
	for n, i := range order {
		if err := b.add(uint32(n), items[i]); err != nil {
			return nil, err
		}
	}
	if len(b.pts) >= 1<<31 {
		return nil, geo.Errorf(geo.ETOOLARGE, "%d vertices is more than a point index holds", len(b.pts))
	}
	ix := &Index{keys: keys}
	b.workers = min(runtime.GOMAXPROCS(0), 256)
	if len(b.parts) == 0 {
		// An empty index: one empty cell, an empty extent, nothing covered.
		ix.ext = orb.Bound{Min: orb.Point{1, 1}, Max: orb.Point{-1, -1}}
		ix.cols, ix.rows = 1, 1
		ix.xb, ix.yb = []float64{0, 1}, []float64{0, 1}
		ix.top = []uint32{direct | none}
		return ix, nil
	}
	if err := b.index(ix); err != nil {
		return nil, err
	}
	return ix, nil
}

// add flattens one item's polygons into b, checking them.
func (b *builder) add(id uint32, it Item) error {
	if len(it.Geometry) == 0 {
		return geo.Errorf(geo.EINVALID, "item %s has an empty geometry: give it at least one polygon", it.Key)
	}
	for pi, poly := range it.Geometry {
		if len(poly) == 0 {
			return geo.Errorf(geo.EINVALID, "item %s: polygon %d is empty: drop it or give it a shell", it.Key, pi+1)
		}
		p := part{item: id, ringFirst: uint32(len(b.rings))}
		p.bound = orb.Bound{Min: orb.Point{math.Inf(1), math.Inf(1)}, Max: orb.Point{math.Inf(-1), math.Inf(-1)}}
		for ri, r := range poly {
			n := len(r)
			if n > 1 && r[0] == r[n-1] {
				n-- // closed: the last point repeats the first
			}
			if n < 3 {
				return geo.Errorf(geo.EINVALID, "item %s: polygon %d ring %d has %d points, fewer than a triangle's: drop the ring or fix the polygon", it.Key, pi+1, ri+1, n)
			}
			first := uint32(len(b.pts))
			for vi, pt := range r[:n] {
				if math.IsNaN(pt[0]) || math.IsInf(pt[0], 0) || math.IsNaN(pt[1]) || math.IsInf(pt[1], 0) {
					return geo.Errorf(geo.EINVALID, "item %s: polygon %d ring %d point %d is (%v %v): coordinates must be finite lon/lat", it.Key, pi+1, ri+1, vi+1, pt[0], pt[1])
				}
				p.bound.Min = orb.Point{min(p.bound.Min[0], pt[0]), min(p.bound.Min[1], pt[1])}
				p.bound.Max = orb.Point{max(p.bound.Max[0], pt[0]), max(p.bound.Max[1], pt[1])}
			}
			b.pts = append(b.pts, r[:n]...)
			b.pts = append(b.pts, r[0])
			b.rings = append(b.rings, ring{first, uint32(len(b.pts))})
		}
		p.ringLast = uint32(len(b.rings))
		for len(b.ptPart) < len(b.pts) {
			b.ptPart = append(b.ptPart, uint32(len(b.parts)))
		}
		b.parts = append(b.parts, p)
	}
	return nil
}

// edges calls fn with the first vertex of each edge of part p.
func (b *builder) edges(p *part, fn func(e uint32)) {
	for _, r := range b.rings[p.ringFirst:p.ringLast] {
		for e := r.first; e+1 < r.last; e++ {
			fn(e)
		}
	}
}

// topEnt is a polygon with edges in a top cell.
type topEnt struct {
	part        uint32
	first, last uint32 // its edges are cellEdges[first:last]
}

// index builds the grid and the trees.
func (b *builder) index(ix *Index) error {
	ext := b.parts[0].bound
	for _, p := range b.parts[1:] {
		ext = ext.Union(p.bound)
	}
	ix.ext = ext

	// The top grid. A degenerate extent is widened so cells have an area.
	x0, y0, x1, y1 := ext.Min[0], ext.Min[1], ext.Max[0], ext.Max[1]
	if !(x1 > x0) {
		d := max(1, math.Abs(x0)) * 0x1p-30
		x0, x1 = x0-d, x1+d
	}
	if !(y1 > y0) {
		d := max(1, math.Abs(y0)) * 0x1p-30
		y0, y1 = y0-d, y1+d
	}
	nEdges := len(b.pts) - len(b.rings)
	t := max(len(b.parts), nEdges/edgesPerTopCell)
	t = min(t, maxTopCells)
	w, h := x1-x0, y1-y0
	cols := int(math.Round(math.Sqrt(float64(t) * w / h)))
	cols = max(1, min(cols, t))
	rows := max(1, (t+cols-1)/cols)
	ix.cols, ix.rows = cols, rows
	ix.xb, ix.yb = bounds(x0, x1, cols), bounds(y0, y1, rows)
	ix.x0, ix.y0 = x0, y0
	ix.sx, ix.sy = float64(cols)/w, float64(rows)/h
	nc := cols * rows
	box := func(c int) (float64, float64, float64, float64) {
		i, j := c%cols, c/cols
		return ix.xb[i], ix.yb[j], ix.xb[i+1], ix.yb[j+1]
	}

	// 1. Every edge into every top cell it touches, in part order.
	type cellEdge struct{ cell, edge uint32 }
	pr := b.ranges(len(b.parts))
	binned := make([][]cellEdge, len(pr))
	b.parallel(pr, func(_, c int) {
		lo, hi := b.parts[pr[c][0]], b.parts[pr[c][1]-1]
		out := make([]cellEdge, 0, (b.rings[hi.ringLast-1].last-b.rings[lo.ringFirst].first)*5/4)
		for pi := pr[c][0]; pi < pr[c][1]; pi++ {
			b.edges(&b.parts[pi], func(e uint32) {
				a, q := b.pts[e], b.pts[e+1]
				i0, i1 := cellRange(ix.xb, cols, min(a[0], q[0]), max(a[0], q[0]))
				j0, j1 := cellRange(ix.yb, rows, min(a[1], q[1]), max(a[1], q[1]))
				for j := j0; j <= j1; j++ {
					for i := i0; i <= i1; i++ {
						if (i0 == i1 && j0 == j1) || segTouchesBox(a[0], a[1], q[0], q[1], ix.xb[i], ix.yb[j], ix.xb[i+1], ix.yb[j+1]) {
							out = append(out, cellEdge{uint32(j*cols + i), e})
						}
					}
				}
			})
		}
		binned[c] = out
	})
	start := make([]uint32, nc+1)
	total := 0
	for _, out := range binned {
		total += len(out)
		for _, ce := range out {
			start[ce.cell+1]++
		}
	}
	if total >= none {
		return geo.Errorf(geo.ETOOLARGE, "the coverage has too many edges for a point index")
	}
	for c := range nc {
		start[c+1] += start[c]
	}
	cellEdges := make([]uint32, total)
	pos := slices.Clone(start[:nc])
	for _, out := range binned {
		for _, ce := range out {
			cellEdges[pos[ce.cell]] = ce.edge
			pos[ce.cell]++
		}
	}
	binned, pos = nil, nil

	// 2. A reference point per top cell, on none of its edges, and the
	// cell's polygons: runs of edges of one part.
	refs := make([]orb.Point, nc)
	entStart := make([]uint32, nc+1)
	cr := b.ranges(nc)
	var errOnce sync.Once
	var err error
	fail := func(e error) { errOnce.Do(func() { err = e }) }
	b.parallel(cr, func(_, c int) {
		for cell := cr[c][0]; cell < cr[c][1]; cell++ {
			es := cellEdges[start[cell]:start[cell+1]]
			bx0, by0, bx1, by1 := box(cell)
			r, ok := pickRef(b.pts, bx0, by0, bx1, by1, [][]uint32{es})
			if !ok {
				fail(geo.Errorf(geo.EINTERNAL, "point index: no reference point in cell %v–%v", orb.Point{bx0, by0}, orb.Point{bx1, by1}))
			}
			refs[cell] = r
			n := uint32(0)
			for k, e := range es {
				if k == 0 || b.ptPart[e] != b.ptPart[es[k-1]] {
					n++
				}
			}
			entStart[cell+1] = n
		}
	})
	if err != nil {
		return err
	}
	for c := range nc {
		entStart[c+1] += entStart[c]
	}
	tents := make([]topEnt, entStart[nc])
	b.parallel(cr, func(_, c int) {
		for cell := cr[c][0]; cell < cr[c][1]; cell++ {
			k := entStart[cell]
			for s := start[cell]; s < start[cell+1]; {
				p := b.ptPart[cellEdges[s]]
				e := s + 1
				for e < start[cell+1] && b.ptPart[cellEdges[e]] == p {
					e++
				}
				tents[k] = topEnt{part: p, first: s, last: e}
				k++
				s = e
			}
		}
	})

	// 3. Whether each reference point is inside each polygon whose box
	// holds it, by a ray: the bit of a listed polygon, or the cell's
	// interior item when the polygon has no edge in the cell.
	tin := make([]bool, len(tents))
	interior := make([]uint32, nc)
	for c := range interior {
		interior[c] = none
	}
	b.parallel(pr, func(_, c int) {
		var cut []uint32 // the edges a horizontal line crosses, reused
		for pi := pr[c][0]; pi < pr[c][1]; pi++ {
			p := &b.parts[pi]
			i0, i1 := cellRange(ix.xb, cols, p.bound.Min[0], p.bound.Max[0])
			j0, j1 := cellRange(ix.yb, rows, p.bound.Min[1], p.bound.Max[1])
			for j := j0; j <= j1; j++ {
				cutY := math.NaN()
				for i := i0; i <= i1; i++ {
					cell := j*cols + i
					r := refs[cell]
					in := false
					if p.bound.Contains(r) {
						// The reference points of a row mostly share
						// their y, and so the edges their rays may cross.
						if r[1] != cutY {
							cut, cutY = b.cutBy(cut[:0], p, r[1]), r[1]
						}
						in = b.rayInside(cut, r[0], r[1])
					}
					es := tents[entStart[cell]:entStart[cell+1]]
					k, found := slices.BinarySearchFunc(es, uint32(pi), func(e topEnt, t uint32) int { return int(e.part) - int(t) })
					if found {
						tin[int(entStart[cell])+k] = in
					} else if in {
						atomicMin(&interior[cell], p.item)
					}
				}
			}
		}
	})

	// 4. A quadtree under each top cell that needs one, built by each
	// worker into its own arena and then concatenated.
	workers := make([]*treeBuilder, b.workers)
	for w := range workers {
		// Room for what a typical coverage needs (4-5 words a vertex), so
		// the arenas rarely grow by copying.
		workers[w] = &treeBuilder{pts: b.pts, arena: make([]uint64, 0, 5*len(b.pts)/len(workers)+1024)}
	}
	ix.top = make([]uint32, nc)
	topW := make([]uint16, nc)
	b.parallel(cr, func(w, c int) {
		tb := workers[w]
		for cell := cr[c][0]; cell < cr[c][1]; cell++ {
			var ents []tentry
			for k := entStart[cell]; k < entStart[cell+1]; k++ {
				te := tents[k]
				item := b.parts[te.part].item
				if item < interior[cell] {
					ents = append(ents, tentry{item: item, in: tin[k], edges: cellEdges[te.first:te.last]})
				}
			}
			bx0, by0, bx1, by1 := box(cell)
			ref, e := tb.cell(bx0, by0, bx1, by1, refs[cell], interior[cell], ents, 0)
			if e != nil {
				fail(e)
			}
			ix.top[cell], topW[cell] = ref, uint16(w)
		}
	})
	if err != nil {
		return err
	}
	off := make([]uint32, len(workers))
	n := 0
	for w, tb := range workers {
		off[w] = uint32(n)
		n += len(tb.arena)
	}
	if n >= direct {
		return geo.Errorf(geo.ETOOLARGE, "the coverage is too large for a point index")
	}
	for c, t := range ix.top {
		if t&direct == 0 {
			ix.top[c] = t + off[topW[c]]
		}
	}
	ix.arena = make([]uint64, 0, n)
	for w, tb := range workers {
		// Walk the worker's records to move their child references.
		a := tb.arena
		for t := 0; t < len(a); {
			h := a[t]
			if h&innerBit == 0 {
				t += int(h >> 32)
				continue
			}
			for i := t + 3; i < t+5; i++ {
				lo, hi := uint32(a[i]), uint32(a[i]>>32)
				if lo&direct == 0 {
					lo += off[w]
				}
				if hi&direct == 0 {
					hi += off[w]
				}
				a[i] = uint64(hi)<<32 | uint64(lo)
			}
			t += innerWords
		}
		ix.arena = append(ix.arena, a...)
		tb.arena = nil
	}
	return nil
}

// bounds returns n+1 cell boundaries from lo to hi, exactly lo and hi at
// the ends and never decreasing.
func bounds(lo, hi float64, n int) []float64 {
	b := make([]float64, n+1)
	w := (hi - lo) / float64(n)
	for i := range n {
		b[i] = min(lo+float64(i)*w, hi)
	}
	b[n] = hi
	return b
}

// cutBy appends to cut the edges of p that the horizontal line at y
// crosses: one end above y, the other at or below it (half-open, so a line
// through a vertex meets it once or twice as it should).
func (b *builder) cutBy(cut []uint32, p *part, y float64) []uint32 {
	for _, r := range b.rings[p.ringFirst:p.ringLast] {
		for e := r.first; e+1 < r.last; e++ {
			if (b.pts[e][1] > y) != (b.pts[e+1][1] > y) {
				cut = append(cut, e)
			}
		}
	}
	return cut
}

// rayInside reports whether (x, y), which lies on no edge of the polygon,
// is inside it, by the parity of its edges crossing the ray to +x; cut are
// the polygon's edges crossing the line at y. An edge crosses the ray when
// it lies right of the point: for an upward edge the point is then on its
// left, for a downward one on its right.
func (b *builder) rayInside(cut []uint32, x, y float64) bool {
	in := false
	for _, e := range cut {
		a, q := b.pts[e], b.pts[e+1]
		if max(a[0], q[0]) < x {
			continue
		}
		if min(a[0], q[0]) > x {
			in = !in
			continue
		}
		if (q[1] > a[1]) == (orient(a[0], a[1], q[0], q[1], x, y) > 0) {
			in = !in
		}
	}
	return in
}

// pickRef returns a point of the closed box on none of the listed edges:
// the centre if possible, else one of a fixed sequence of points spread over
// the box. Only edges touching the box can pass through a point in it.
func pickRef(pts []orb.Point, x0, y0, x1, y1 float64, lists [][]uint32) (orb.Point, bool) {
	for k := range 256 {
		// Additive recurrences with irrational steps: never collinear in
		// a way a few edges could follow.
		fx := math.Mod(0.5+float64(k)*0.6180339887498949, 1)
		fy := math.Mod(0.5+float64(k)*0.7548776662466927, 1)
		r := orb.Point{
			max(x0, min(x1, x0+fx*(x1-x0))),
			max(y0, min(y1, y0+fy*(y1-y0))),
		}
		if !onAny(pts, lists, r) {
			return r, true
		}
	}
	return orb.Point{}, false
}

func onAny(pts []orb.Point, lists [][]uint32, r orb.Point) bool {
	for _, es := range lists {
		for _, e := range es {
			a, b := pts[e], pts[e+1]
			if onSegment(a[0], a[1], b[0], b[1], r[0], r[1]) {
				return true
			}
		}
	}
	return false
}

func atomicMin(p *uint32, v uint32) {
	for {
		old := atomic.LoadUint32(p)
		if v >= old || atomic.CompareAndSwapUint32(p, old, v) {
			return
		}
	}
}

// tentry is a polygon with edges in a cell under construction.
type tentry struct {
	item  uint32
	in    bool     // the cell's reference point is inside the polygon
	edges []uint32 // its edges touching the cell
}

// treeBuilder builds quadtrees into its own arena, for one worker.
type treeBuilder struct {
	pts   []orb.Point
	arena []uint64
}

const innerWords = 5 // the size of an inner node record

// cell returns the reference for the box [x0,x1]×[y0,y1] with reference
// point r, interior item item and polygons ents (all with item numbers
// below item), appending its records to tb.arena and splitting it while it
// has too many edges.
func (tb *treeBuilder) cell(x0, y0, x1, y1 float64, r orb.Point, item uint32, ents []tentry, depth int) (uint32, error) {
	if len(ents) == 0 {
		return direct | item, nil
	}
	total := 0
	for _, e := range ents {
		total += len(e.edges)
	}
	mx, my := x0+(x1-x0)/2, y0+(y1-y0)/2
	if total <= maxLeafEdges || depth >= maxDepth || !(x0 < mx && mx < x1 && y0 < my && my < y1) {
		return tb.leaf(r, item, ents), nil
	}
	at := len(tb.arena)
	tb.arena = append(tb.arena, innerBit, math.Float64bits(mx), math.Float64bits(my), 0, 0)
	var kidRefs [4]uint32
	buf := make([]uint32, 0, total)
	kids := make([]tentry, len(ents))
	lists := make([][]uint32, len(ents))
	for k := range 4 {
		cx0, cy0, cx1, cy1 := x0, y0, mx, my
		if k&1 != 0 {
			cx0, cx1 = mx, x1
		}
		if k&2 != 0 {
			cy0, cy1 = my, y1
		}
		kids, buf = kids[:len(ents)], buf[:0]
		for i, e := range ents {
			from := len(buf)
			for _, ed := range e.edges {
				a, b := tb.pts[ed], tb.pts[ed+1]
				if segTouchesBox(a[0], a[1], b[0], b[1], cx0, cy0, cx1, cy1) {
					buf = append(buf, ed)
				}
			}
			kids[i] = tentry{item: e.item, edges: buf[from:len(buf):len(buf)]}
			lists[i] = kids[i].edges
		}
		cr, ok := pickRef(tb.pts, cx0, cy0, cx1, cy1, lists)
		if !ok {
			return 0, geo.Errorf(geo.EINTERNAL, "point index: no reference point in cell %v–%v", orb.Point{cx0, cy0}, orb.Point{cx1, cy1})
		}
		// Carry each inside bit from r to cr: only the parent's edges can
		// cross the segment between them, which lies in the parent cell.
		citem := item
		for i, e := range ents {
			in := e.in
			for _, ed := range e.edges {
				a, b := tb.pts[ed], tb.pts[ed+1]
				if crosses(r[0], r[1], cr[0], cr[1], a[0], a[1], b[0], b[1]) {
					in = !in
				}
			}
			kids[i].in = in
			if len(kids[i].edges) == 0 && in && e.item < citem {
				citem = e.item // the whole child is inside this polygon
			}
		}
		keep := kids[:0]
		for _, e := range kids {
			if len(e.edges) > 0 && e.item < citem {
				keep = append(keep, e)
			}
		}
		ref, err := tb.cell(cx0, cy0, cx1, cy1, cr, citem, keep, depth+1)
		if err != nil {
			return 0, err
		}
		kidRefs[k] = ref
	}
	tb.arena[at+3] = uint64(kidRefs[1])<<32 | uint64(kidRefs[0])
	tb.arena[at+4] = uint64(kidRefs[3])<<32 | uint64(kidRefs[2])
	return uint32(at), nil
}

// leaf appends a leaf record and returns its offset.
func (tb *treeBuilder) leaf(r orb.Point, item uint32, ents []tentry) uint32 {
	at := len(tb.arena)
	tb.arena = append(tb.arena, 0, math.Float64bits(r[0]), math.Float64bits(r[1]))
	for _, e := range ents {
		hdr := len(tb.arena)
		tb.arena = append(tb.arena, 0)
		// The edges are in ring order, so runs of consecutive edge
		// numbers are chains sharing their inner vertices.
		for i := 0; i < len(e.edges); {
			k := 1
			for i+k < len(e.edges) && k < maxChain && e.edges[i+k] == e.edges[i]+uint32(k) {
				k++
			}
			var left uint64
			for j, ed := range e.edges[i : i+k] {
				a, b := tb.pts[ed], tb.pts[ed+1]
				if orient(a[0], a[1], b[0], b[1], r[0], r[1]) > 0 {
					left |= 1 << j
				}
			}
			tb.arena = append(tb.arena, uint64(k)<<chainShift|left)
			for _, p := range tb.pts[e.edges[i] : e.edges[i]+uint32(k)+1] {
				tb.arena = append(tb.arena, math.Float64bits(p[0]), math.Float64bits(p[1]))
			}
			i += k
		}
		h := uint64(len(tb.arena)-hdr-1)<<33 | uint64(e.item)
		if e.in {
			h |= 1 << 32
		}
		tb.arena[hdr] = h
	}
	tb.arena[at] = uint64(len(tb.arena)-at)<<32 | uint64(item)
	return uint32(at)
}

// ranges splits [0, n) into chunks for parallel, enough of them to balance
// uneven work over the workers.
func (b *builder) ranges(n int) [][2]int {
	size := max(1, n/(b.workers*16))
	var rs [][2]int
	for lo := 0; lo < n; lo += size {
		rs = append(rs, [2]int{lo, min(lo+size, n)})
	}
	return rs
}

// parallel calls fn(worker, chunk) for every chunk, on b.workers goroutines.
func (b *builder) parallel(rs [][2]int, fn func(w, c int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range b.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= len(rs) {
					return
				}
				fn(w, c)
			}
		}()
	}
	wg.Wait()
}
