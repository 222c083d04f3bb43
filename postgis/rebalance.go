package postgis

import (
	"context"
	_ "embed"
	"fmt"
	"math"
	"slices"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

var (
	//go:embed sql/rebalance_prepare.sql
	rebalancePrepareSQL string
	//go:embed sql/rebalance_split.sql
	rebalanceSplitSQL string
	//go:embed sql/rebalance_join.sql
	rebalanceJoinSQL string
)

// rebalanceResult is what a rebalance did, for the report.
type rebalanceResult struct {
	split, joined int
	unsolved      []string
}

// oversizedSQL lists the buildings of every grid above the rule, grid by
// grid, each with the cluster of footprints it overlaps or touches: a
// border between two overlapping footprints would cut one of them, so a
// cluster goes to one part as a whole.
const oversizedSQL = `
SELECT s.rb, s.hh, s.parent, b.id, b.hh, b.lon, b.lat,
       ST_ClusterDBSCAN(bb.geom, 0, 1) OVER (PARTITION BY s.rb) AS unit
FROM mg_rb_size s JOIN mg_rb_bld b ON b.rb = s.rb JOIN buildings bb ON bb.id = b.id
WHERE s.hh > $1
ORDER BY s.rb, b.id`

// rebalance runs inside a merge, between the cleaning of the grid level
// and the numbering of the grids (mg_child holds the draft's grids): each
// grid above the rule is split into the fewest parts within it along the
// gaps between its buildings (geo.SplitByGaps decides which building goes
// where; PostGIS draws the parts), then each grid below the rule joins the
// neighbour of its community it borders longest, while in range. Grids
// stay within their community: the split divides one grid and the join
// looks only at the same community.
func rebalance(ctx context.Context, tx pgx.Tx, rule geo.SizeRange) (*rebalanceResult, error) {
	var loaded bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM buildings)`).Scan(&loaded); err != nil {
		return nil, err
	}
	if !loaded {
		return nil, geo.Errorf(geo.EINVALID, "a rebalance weighs grids by the households of their buildings, and none are loaded: import them with 'gridd import --kind buildings FILE' first")
	}
	for name, v := range map[string]int{"rb_min": rule.Min, "rb_max": rule.Max} {
		if _, err := tx.Exec(ctx, `SELECT set_config($1, $2, true)`, "gridd."+name, fmt.Sprint(v)); err != nil {
			return nil, err
		}
	}
	if _, err := tx.Exec(ctx, rebalancePrepareSQL); err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	res := &rebalanceResult{}
	rows, err := tx.Query(ctx, oversizedSQL, rule.Max)
	if err != nil {
		return nil, err
	}
	type grid struct {
		rb, hh int
		parent string
		pts    []geo.WeightedPoint // one per cluster of footprints
		unit   map[int]int         // cluster → its point
		ids    []string
		of     []int // the point of each building
	}
	var grids []*grid
	for rows.Next() {
		var rb, hh, bhh, unit int
		var parent, id string
		var lon, lat float64
		if err := rows.Scan(&rb, &hh, &parent, &id, &bhh, &lon, &lat, &unit); err != nil {
			rows.Close()
			return nil, err
		}
		if len(grids) == 0 || grids[len(grids)-1].rb != rb {
			grids = append(grids, &grid{rb: rb, hh: hh, parent: parent, unit: map[int]int{}})
		}
		g := grids[len(grids)-1]
		// Metres near the grid: lon/lat scaled at its latitude is plenty
		// to tell which gap between buildings is the widest. A cluster
		// stands at its first building.
		kx := 111320 * math.Cos(lat*math.Pi/180)
		i, seen := g.unit[unit]
		if !seen {
			i = len(g.pts)
			g.unit[unit] = i
			g.pts = append(g.pts, geo.WeightedPoint{ID: int64(i), X: lon * kx, Y: lat * 111320})
		}
		g.pts[i].Households += bhh
		g.ids = append(g.ids, id)
		g.of = append(g.of, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var partRB, partNo []int32
	var partID []string
	for _, g := range grids {
		parts, ok := geo.PlanSplit(g.pts, rule)
		n := 0
		for _, p := range parts {
			n = max(n, p+1)
		}
		if n < 2 {
			res.unsolved = append(res.unsolved, fmt.Sprintf("a grid of community %s with %d households in one building (or at one spot) cannot be split without cutting a building", g.parent, g.hh))
			continue
		}
		if !ok {
			sums := make([]int, n)
			for i, p := range parts {
				sums[p] += g.pts[i].Households
			}
			if big := slices.Max(sums); big > rule.Max {
				res.unsolved = append(res.unsolved, fmt.Sprintf("a grid of community %s with %d households: its buildings stand too close together or hold too many households to split into parts of at most %d (the largest part has %d)", g.parent, g.hh, rule.Max, big))
			}
		}
		res.split++
		for i, id := range g.ids {
			partRB = append(partRB, int32(g.rb))
			partNo = append(partNo, int32(parts[g.of[i]]))
			partID = append(partID, id)
		}
	}
	if len(partRB) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO mg_rb_part (rb, id, part) SELECT * FROM unnest($1::int[], $2::text[], $3::int[])`, partRB, partID, partNo); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, rebalanceSplitSQL); err != nil {
			return nil, fmt.Errorf("split: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, rebalanceJoinSQL); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM mg_rb_joined`).Scan(&res.joined); err != nil {
		return nil, err
	}
	// merge_codes.sql builds mg_grid from mg_child as merge_level.sql left it.
	if _, err := tx.Exec(ctx, `ALTER TABLE mg_child DROP COLUMN rb`); err != nil {
		return nil, err
	}
	return res, nil
}
