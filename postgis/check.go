package postgis

import (
	"context"
	_ "embed"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

//go:embed sql/check.sql
var checkSQL string

// Check validates a generation (0: the active one): no overlaps between
// siblings, children inside and covering their parent, codes well formed
// and under their parent, geometries valid.
func (db *DB) Check(ctx context.Context, generation int, p geo.CheckParams) ([]geo.Violation, error) {
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
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Violation, error) {
		var v geo.Violation
		err := r.Scan(&v.Rule, &v.Level, &v.Code, &v.Other, &v.Amount, &v.Detail)
		return v, err
	})
}
