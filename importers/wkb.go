package importers

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
)

// maxWKBDepth bounds the nesting of geometry collections.
const maxWKBDepth = 16

// wkbTypeNames names the WKB geometry types, for messages.
var wkbTypeNames = map[uint32]string{
	1: "Point", 2: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection",
	8: "CircularString", 9: "CompoundCurve", 10: "CurvePolygon", 11: "MultiCurve", 12: "MultiSurface",
	13: "Curve", 14: "Surface", 15: "PolyhedralSurface", 16: "TIN", 17: "Triangle",
}

// decodeWKB decodes standard (ISO) or extended (PostGIS) WKB, with or
// without Z and M, into a 2D orb geometry. orb's decoder reads only 2D WKB,
// so the geometry is first walked and rewritten as 2D: the walk also
// checks every count against the bytes that remain and the vertex total
// against maxVertices before anything is allocated for it, which is what
// keeps a hostile count from costing memory.
func decodeWKB(b []byte, maxVertices int) (orb.Geometry, error) {
	f := wkbFlattener{in: b, max: maxVertices}
	if err := f.geometry(0); err != nil {
		return nil, err
	}
	g, err := wkb.Unmarshal(f.out)
	if err != nil {
		return nil, fmt.Errorf("invalid WKB: %v", err)
	}
	return g, nil
}

// errTooManyVertices carries the vertex count of a refused geometry.
type errTooManyVertices struct{ n, max int }

func (e errTooManyVertices) Error() string { return tooManyVertices(e.n, e.max) }

type wkbFlattener struct {
	in       []byte
	i        int
	out      []byte
	vertices int
	max      int
}

func (f *wkbFlattener) need(n int) error {
	if n < 0 || n > len(f.in)-f.i {
		return fmt.Errorf("invalid WKB: it ends early (byte %d of %d)", f.i, len(f.in))
	}
	return nil
}

func (f *wkbFlattener) u32(order binary.ByteOrder) (uint32, error) {
	if err := f.need(4); err != nil {
		return 0, err
	}
	v := order.Uint32(f.in[f.i:])
	f.i += 4
	return v, nil
}

func (f *wkbFlattener) putU32(v uint32) { f.out = binary.LittleEndian.AppendUint32(f.out, v) }

// geometry rewrites one geometry, header included.
func (f *wkbFlattener) geometry(depth int) error {
	if depth > maxWKBDepth {
		return fmt.Errorf("invalid WKB: collections nested more than %d deep", maxWKBDepth)
	}
	if err := f.need(5); err != nil {
		return err
	}
	var order binary.ByteOrder
	switch f.in[f.i] {
	case 0:
		order = binary.BigEndian
	case 1:
		order = binary.LittleEndian
	default:
		return fmt.Errorf("invalid WKB: byte order %d", f.in[f.i])
	}
	f.i++
	t, _ := f.u32(order)
	// Extended WKB flags Z, M and an SRID in the high bits; ISO WKB adds
	// 1000 (Z), 2000 (M) or 3000 (ZM) to the type.
	dims := 2
	if t&0x80000000 != 0 {
		dims++
	}
	if t&0x40000000 != 0 {
		dims++
	}
	if t&0x20000000 != 0 {
		if _, err := f.u32(order); err != nil {
			return err
		}
	}
	t &= 0x0FFFFFFF
	switch t / 1000 {
	case 1, 2:
		dims++
	case 3:
		dims += 2
	}
	if t/1000 > 3 || dims > 4 {
		return fmt.Errorf("invalid WKB: geometry type %d", t)
	}
	base := t % 1000
	f.out = append(f.out, 1)
	f.putU32(base)
	switch base {
	case 1:
		return f.coords(order, 1, dims)
	case 2:
		return f.sequence(order, dims)
	case 3:
		n, err := f.count(order, 4)
		if err != nil {
			return err
		}
		for range n {
			if err := f.sequence(order, dims); err != nil {
				return err
			}
		}
		return nil
	case 4, 5, 6, 7:
		n, err := f.count(order, 5)
		if err != nil {
			return err
		}
		for range n {
			if err := f.geometry(depth + 1); err != nil {
				return err
			}
		}
		return nil
	}
	if name, ok := wkbTypeNames[base]; ok {
		return fmt.Errorf("is a %s, which gridd does not read: convert curves and surfaces to plain polygons (QGIS: Segmentize)", name)
	}
	return fmt.Errorf("invalid WKB: geometry type %d", t)
}

// count reads an element count, each element taking at least minSize bytes.
func (f *wkbFlattener) count(order binary.ByteOrder, minSize int) (int, error) {
	n, err := f.u32(order)
	if err != nil {
		return 0, err
	}
	if int64(n)*int64(minSize) > int64(len(f.in)-f.i) {
		return 0, fmt.Errorf("invalid WKB: %d elements cannot fit in the %d bytes left", n, len(f.in)-f.i)
	}
	f.putU32(n)
	return int(n), nil
}

// sequence rewrites a counted list of points.
func (f *wkbFlattener) sequence(order binary.ByteOrder, dims int) error {
	n, err := f.u32(order)
	if err != nil {
		return err
	}
	if f.vertices+int(min(n, math.MaxInt32)) > f.max {
		return errTooManyVertices{f.vertices + int(min(n, math.MaxInt32)), f.max}
	}
	if int64(n)*int64(8*dims) > int64(len(f.in)-f.i) {
		return fmt.Errorf("invalid WKB: %d points cannot fit in the %d bytes left", n, len(f.in)-f.i)
	}
	f.putU32(n)
	return f.coords(order, int(n), dims)
}

// coords copies n points' X and Y, dropping Z and M.
func (f *wkbFlattener) coords(order binary.ByteOrder, n, dims int) error {
	if err := f.need(n * 8 * dims); err != nil {
		return err
	}
	f.vertices += n
	if f.vertices > f.max {
		return errTooManyVertices{f.vertices, f.max}
	}
	for range n {
		x := order.Uint64(f.in[f.i:])
		y := order.Uint64(f.in[f.i+8:])
		f.out = binary.LittleEndian.AppendUint64(f.out, x)
		f.out = binary.LittleEndian.AppendUint64(f.out, y)
		f.i += 8 * dims
	}
	return nil
}
