package tiles

import "math"

// maxLat is the latitude where Web Mercator's square world ends.
const maxLat = 85.0511287798066

// lonLatToTile returns the tile of zoom z holding the point, clamped to
// the world.
func lonLatToTile(lon, lat float64, z int) (x, y int) {
	n := math.Exp2(float64(z))
	lat = math.Max(-maxLat, math.Min(maxLat, lat))
	fx := (lon + 180) / 360 * n
	r := lat * math.Pi / 180
	fy := (1 - math.Log(math.Tan(r)+1/math.Cos(r))/math.Pi) / 2 * n
	clamp := func(v float64) int {
		i := int(math.Floor(v))
		if i < 0 {
			return 0
		}
		if i >= int(n) {
			return int(n) - 1
		}
		return i
	}
	return clamp(fx), clamp(fy)
}
