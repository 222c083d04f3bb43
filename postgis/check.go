package postgis

import (
	"context"
	_ "embed"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

//go:embed sql/check.sql
var checkSQL string

// Violation is one broken rule of the unified coverage.
type Violation struct {
	Rule   string  `json:"rule"` // invalid_geometry, code_format, parent, overlap, outside_parent, children_area
	Level  string  `json:"level"`
	Code   string  `json:"code"`
	Other  string  `json:"other,omitempty"`
	Amount float64 `json:"amount"` // m² for overlap/outside/children_area
	Detail string  `json:"detail"`
}

// CheckParams are the tolerances of Check.
type CheckParams struct {
	OverlapM2    float64 // overlaps and outside pieces up to this are ignored (default 0.01 m²)
	RelativeArea float64 // children may differ from their parent's area by this share (default 1e-4: 0.01 %)
}

// Check validates a generation (0: the active one): no overlaps between
// siblings, children inside and covering their parent, codes well formed
// and under their parent, geometries valid.
func (db *DB) Check(ctx context.Context, generation int, p CheckParams) ([]Violation, error) {
	gen, err := db.resolveGeneration(ctx, generation)
	if err != nil {
		return nil, err
	}
	if p.OverlapM2 == 0 {
		p.OverlapM2 = 0.01
	}
	if p.RelativeArea == 0 {
		p.RelativeArea = 1e-4
	}
	rows, err := db.Pool.Query(ctx, checkSQL, gen, p.OverlapM2, p.RelativeArea)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "check generation %d", gen)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (Violation, error) {
		var v Violation
		err := r.Scan(&v.Rule, &v.Level, &v.Code, &v.Other, &v.Amount, &v.Detail)
		return v, err
	})
}
