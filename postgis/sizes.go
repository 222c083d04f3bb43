package postgis

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/gridd/gridd/geo"
)

// areaSizesSQL lists the households of every grid and community of
// generation $1: from the buildings where they are loaded (area_counts),
// else the departments' attribute; known says whether there is a figure.
const areaSizesSQL = `
SELECT a.level, a.code, a.parent_code, a.area_m2, coalesce(n.households, a.households, 0),
       n.code IS NOT NULL, (n.code IS NOT NULL OR a.households IS NOT NULL)
FROM areas a LEFT JOIN area_counts n ON n.generation = a.generation AND n.code = a.code
WHERE a.generation = $1 AND a.level IN ('grid', 'community')
ORDER BY a.code`

// markSizeReviewSQL writes the size verdict into the grids' review note
// (the map and the exports show it), replacing an earlier one.
const markSizeReviewSQL = `
UPDATE areas a SET review = CASE WHEN r.note IS NULL THEN '' ELSE r.note END
FROM (SELECT a2.code, x.note FROM areas a2
      LEFT JOIN unnest($2::text[], $3::text[]) AS x(code, note) ON x.code = a2.code
      WHERE a2.generation = $1 AND a2.level IN ('grid', 'community')
        AND (x.code IS NOT NULL OR a2.review LIKE 'households%')) r
WHERE a.generation = $1 AND a.code = r.code AND (a.review = '' OR a.review LIKE 'households%')`

type areaSize struct {
	level, code, parent string
	area                float64
	households          int
	data, known         bool
}

func loadAreaSizes(ctx context.Context, q querier, gen int) ([]areaSize, error) {
	rows, err := q.Query(ctx, areaSizesSQL, gen)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "households of generation %d", gen)
	}
	defer rows.Close()
	var out []areaSize
	for rows.Next() {
		var s areaSize
		if err := rows.Scan(&s.level, &s.code, &s.parent, &s.area, &s.households, &s.data, &s.known); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// sizeReview judges generation gen by the size rules: the review items of
// the grids and communities out of range, and the distribution of
// households per grid (before: generation before, 0 for none).
func sizeReview(ctx context.Context, q querier, gen, before int, grid, community geo.SizeRange) ([]geo.ReviewItem, *geo.SizeSummary, error) {
	sizes, err := loadAreaSizes(ctx, q, gen)
	if err != nil {
		return nil, nil, err
	}
	sum := &geo.SizeSummary{Grid: grid, Community: community, Source: "attribute"}
	var items []geo.ReviewItem
	var gridHH []int
	for _, s := range sizes {
		if s.data {
			sum.Source = "data"
		}
		if !s.known {
			continue
		}
		r := grid
		if s.level == string(geo.Community) {
			r = community
		} else {
			gridHH = append(gridHH, s.households)
		}
		if r.Contains(s.households) {
			continue
		}
		kind, word := "households_over", "above"
		if s.households < r.Min {
			kind, word = "households_under", "below"
		}
		switch {
		case s.level == string(geo.Grid) && kind == "households_over":
			sum.GridsOver++
		case s.level == string(geo.Grid):
			sum.GridsUnder++
		case kind == "households_over":
			sum.CommunitiesOver++
		default:
			sum.CommunitiesUnd++
		}
		hh := s.households
		items = append(items, geo.ReviewItem{Kind: kind, Level: s.level, Code: s.code, Parent: s.parent, AreaM2: s.area, Households: &hh,
			Note: fmt.Sprintf("households %d %s the rule %s", s.households, word, r)})
	}
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].Kind != items[j].Kind {
			return items[i].Kind < items[j].Kind
		}
		return *items[i].Households > *items[j].Households
	})
	sum.After = geo.Histogram(gridHH)
	if before > 0 && before != gen {
		prev, err := loadAreaSizes(ctx, q, before)
		if err != nil {
			return nil, nil, err
		}
		var hh []int
		for _, s := range prev {
			if s.known && s.level == string(geo.Grid) {
				hh = append(hh, s.households)
			}
		}
		sum.Before = geo.Histogram(hh)
		// Bars of both start at 0 and have one width: pad the shorter.
		for len(sum.Before) < len(sum.After) {
			n := len(sum.Before)
			sum.Before = append(sum.Before, geo.SizeBin{From: n * geo.SizeBinWidth, To: (n + 1) * geo.SizeBinWidth})
		}
		for len(sum.After) < len(sum.Before) {
			n := len(sum.After)
			sum.After = append(sum.After, geo.SizeBin{From: n * geo.SizeBinWidth, To: (n + 1) * geo.SizeBinWidth})
		}
	}
	return items, sum, nil
}

// markSizeReview notes each out-of-range area's verdict in its review
// column, so that the map and the exports show it.
func markSizeReview(ctx context.Context, q querier, gen int, items []geo.ReviewItem) error {
	codes := make([]string, len(items))
	notes := make([]string, len(items))
	for i, it := range items {
		codes[i], notes[i] = it.Code, it.Note
	}
	_, err := q.Exec(ctx, markSizeReviewSQL, gen, codes, notes)
	return err
}

// SizeReview judges a generation (0: the active one) by size rules: the
// grids and communities out of range, with their households. Zero rules
// take the generation's own merge parameters.
func (db *DB) SizeReview(ctx context.Context, generation int, grid, community geo.SizeRange) ([]geo.ReviewItem, *geo.SizeSummary, error) {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return nil, nil, err
	}
	var raw []byte
	if err := db.Pool.QueryRow(ctx, `SELECT coalesce(params, '{}'::jsonb) FROM generations WHERE id = $1`, gen).Scan(&raw); err != nil {
		return nil, nil, geo.WrapError(geo.EUNAVAILABLE, err, "parameters of generation %d", gen)
	}
	var p geo.MergeParams
	_ = json.Unmarshal(raw, &p) // older generations: the defaults
	p.Defaults()
	if grid == (geo.SizeRange{}) {
		grid = p.GridHouseholds
	}
	if community == (geo.SizeRange{}) {
		community = p.CommunityHouseholds
	}
	return sizeReview(ctx, db.Pool, gen, 0, grid, community)
}
