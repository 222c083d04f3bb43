package postgis

import (
	"context"
	"errors"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// Activate makes gen the active generation and retires the one before, in
// one transaction: readers see either the old or the new one, never none.
//
// This is the machine operator's activation (the command line, the demo):
// it answers to nobody in the application. The API activates with
// ActivateAs, which checks the approval rule.
func (db *DB) Activate(ctx context.Context, gen int) error {
	return db.activate(ctx, gen, nil)
}

// activate does the activation; check, when given, runs in its transaction
// once the generation is known to be an inactive one, and may refuse.
func (db *DB) activate(ctx context.Context, gen int, check func(pgx.Tx) error) error {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	// Serialise activations so two at once cannot both retire the same one.
	if _, err := tx.Exec(ctx, `LOCK TABLE generations IN SHARE ROW EXCLUSIVE MODE`); err != nil {
		return err
	}
	var state string
	if err := tx.QueryRow(ctx, `SELECT state FROM generations WHERE id = $1`, gen).Scan(&state); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return geo.Errorf(geo.ENOTFOUND, "no generation %d: 'gridd generations' lists them", gen)
		}
		return err
	}
	if state == geo.GenerationActive {
		return nil
	}
	if err := checkDecisionsApplied(ctx, tx, gen); err != nil {
		return err
	}
	if check != nil {
		if err := check(tx); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE generations SET state = 'retired' WHERE state = 'active'`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE generations SET state = 'active', activated_at = now() WHERE id = $1`, gen); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// ActiveGeneration returns the id of the active generation.
func (db *DB) ActiveGeneration(ctx context.Context) (int, error) {
	var id int
	err := db.Pool.QueryRow(ctx, `SELECT id FROM generations WHERE state = 'active'`).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, geo.Errorf(geo.ENOTFOUND, "no active generation yet: run 'gridd merge' and 'gridd activate', or 'gridd demo'")
	}
	if err != nil {
		return 0, geo.WrapError(geo.EUNAVAILABLE, err, "look up the active generation")
	}
	return id, nil
}

// Generations lists every generation, newest first.
func (db *DB) Generations(ctx context.Context) ([]geo.Generation, error) {
	rows, err := db.Pool.Query(ctx, `SELECT id, state, created_at, activated_at, note, attribution FROM generations ORDER BY id DESC`)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list generations")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Generation, error) {
		var g geo.Generation
		err := r.Scan(&g.ID, &g.State, &g.CreatedAt, &g.ActivatedAt, &g.Note, &g.Attribution)
		return g, err
	})
}

// resolveGeneration turns 0 into the active generation's id and checks
// that any other id exists.
func (db *DB) resolveGeneration(ctx context.Context, gen int) (int, error) {
	if gen == 0 {
		return db.ActiveGeneration(ctx)
	}
	var ok bool
	if err := db.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM generations WHERE id = $1)`, gen).Scan(&ok); err != nil {
		return 0, geo.WrapError(geo.EUNAVAILABLE, err, "look up generation %d", gen)
	}
	if !ok {
		return 0, geo.Errorf(geo.ENOTFOUND, "no generation %d", gen)
	}
	return gen, nil
}

// compareSQL matches the areas of two generations by code. Merged areas are
// stored normalized (identical merges store identical geometry), so exact
// equality (ST_OrderingEquals) tells an unchanged area from a reshaped one.
const compareSQL = `
SELECT coalesce(a.level, b.level),
       (count(*) FILTER (WHERE a.code IS NOT NULL AND b.code IS NOT NULL AND ST_OrderingEquals(a.geom, b.geom)))::int,
       (count(*) FILTER (WHERE a.code IS NOT NULL AND b.code IS NOT NULL AND NOT ST_OrderingEquals(a.geom, b.geom)))::int,
       (count(*) FILTER (WHERE a.code IS NULL))::int,
       (count(*) FILTER (WHERE b.code IS NULL))::int,
       (count(*) FILTER (WHERE a.name <> b.name))::int,
       (count(*) FILTER (WHERE a.parent_code <> b.parent_code))::int
FROM (SELECT level, code, name, parent_code, geom FROM areas WHERE generation = $1) a
FULL JOIN (SELECT level, code, name, parent_code, geom FROM areas WHERE generation = $2) b ON a.code = b.code
GROUP BY 1`

// Compare counts how the areas of generation to differ from those of from
// (0: the active generation), level by level.
func (db *DB) Compare(ctx context.Context, from, to int) (geo.GenerationDiff, error) {
	var err error
	if from, err = db.resolveGeneration(ctx, from); err != nil {
		return geo.GenerationDiff{}, err
	}
	if to, err = db.resolveGeneration(ctx, to); err != nil {
		return geo.GenerationDiff{}, err
	}
	d := geo.GenerationDiff{From: from, To: to, Levels: map[string]*geo.LevelDiff{}}
	for _, l := range geo.Levels {
		d.Levels[string(l)] = &geo.LevelDiff{}
	}
	rows, err := db.Pool.Query(ctx, compareSQL, from, to)
	if err != nil {
		return d, geo.WrapError(geo.EUNAVAILABLE, err, "compare generations %d and %d", from, to)
	}
	defer rows.Close()
	for rows.Next() {
		var level string
		var l geo.LevelDiff
		if err := rows.Scan(&level, &l.Kept, &l.Reshaped, &l.Added, &l.Removed, &l.Renamed, &l.Reparented); err != nil {
			return d, geo.WrapError(geo.EUNAVAILABLE, err, "compare generations")
		}
		d.Levels[level] = &l
	}
	if err := rows.Err(); err != nil {
		return d, geo.WrapError(geo.EUNAVAILABLE, err, "compare generations %d and %d", from, to)
	}
	return d, nil
}
