package postgis

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// The counts of areas (area_counts) take their residents from the
// register where it covers a building (registerResidentsSQL), so a change
// of the register changes them: a load refills every live generation's
// counts in its own transaction, a deletion moves the figures of the one
// building it touches.

// rollUp refills the counts of generation gen from its assignment and the
// register.
func rollUp(ctx context.Context, tx pgx.Tx, gen int) error {
	for _, q := range rollUpSQL {
		if _, err := tx.Exec(ctx, q, gen); err != nil {
			return fmt.Errorf("roll up the counts of generation %d: %w", gen, err)
		}
	}
	return nil
}

// liveCountsSQL lists the generations whose counts follow the register:
// every one with counts but the retired, whose figures are history.
const liveCountsSQL = `
SELECT g.id FROM generations g
WHERE g.state <> 'retired' AND EXISTS (SELECT 1 FROM area_counts c WHERE c.generation = g.id)
ORDER BY g.id`

// rollUpLive refills the counts of every live generation after a register
// load.
func rollUpLive(ctx context.Context, tx pgx.Tx) error {
	rows, err := tx.Query(ctx, liveCountsSQL)
	if err != nil {
		return err
	}
	gens, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return err
	}
	for _, g := range gens {
		if err := rollUp(ctx, tx, g); err != nil {
			return err
		}
	}
	return nil
}

// buildingResidentsSQL is what building $1 adds to its areas' residents:
// its register households' members where the register covers it, else its
// attribute.
const buildingResidentsSQL = `
SELECT coalesce((SELECT sum(members)::int FROM households WHERE building_id = $1),
                (SELECT residents FROM buildings WHERE id = $1), 0)`

// shiftResidentsSQL adds $2 to the residents of every area holding
// building $1 in a live generation: its grid and the grid's community,
// street and district.
const shiftResidentsSQL = `
UPDATE area_counts c SET residents = c.residents + $2
FROM building_grid bg JOIN generations g ON g.id = bg.generation AND g.state <> 'retired'
WHERE bg.building_id = $1 AND bg.grid_code IS NOT NULL AND c.generation = bg.generation
  AND c.code IN (bg.grid_code, left(bg.grid_code, 12), left(bg.grid_code, 9), left(bg.grid_code, 6))`

// buildingResidents reads what building adds to its areas' residents.
func buildingResidents(ctx context.Context, tx pgx.Tx, building string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, buildingResidentsSQL, building).Scan(&n)
	return n, err
}

// shiftResidents moves the counts of building's areas from what it added
// before a change of the register (before) to what it adds now.
func shiftResidents(ctx context.Context, tx pgx.Tx, building string, before int) error {
	after, err := buildingResidents(ctx, tx, building)
	if err != nil || after == before {
		return err
	}
	_, err = tx.Exec(ctx, shiftResidentsSQL, building, after-before)
	return err
}
