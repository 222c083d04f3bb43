package postgis

import (
	"context"
	"errors"
	"fmt"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// AsIsParams says which layers an as-is generation takes.
type AsIsParams struct {
	// BaseDept is the department whose latest grid layer provides the
	// grids, taken as they are.
	BaseDept string
	Note     string
}

// checkLatestLayersSQL reports, per level, the layer an as-is generation
// would take and how many of its features lack a well-formed code or
// repeat one.
const checkLatestLayersSQL = `
WITH latest AS (
    SELECT DISTINCT ON (level) id, level, name
    FROM source_layers
    WHERE (level <> 'grid' AND dept_code IS NULL) OR (level = 'grid' AND dept_code = $1)
    ORDER BY level, version DESC
)
SELECT l.level, l.id, l.name,
       count(*) FILTER (WHERE f.code !~ ('^[0-9]{' || CASE l.level WHEN 'district' THEN 6 WHEN 'street' THEN 9 WHEN 'community' THEN 12 ELSE 15 END || '}$')),
       count(*) - count(DISTINCT f.code),
       coalesce(min(f.code) FILTER (WHERE f.code !~ ('^[0-9]{' || CASE l.level WHEN 'district' THEN 6 WHEN 'street' THEN 9 WHEN 'community' THEN 12 ELSE 15 END || '}$')), '')
FROM latest l JOIN source_features f ON f.layer_id = l.id
GROUP BY l.level, l.id, l.name`

const insertAsIsAreasSQL = `
INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom)
SELECT $1, l.level, f.code, f.name,
       CASE l.level WHEN 'district' THEN '' ELSE left(f.code, length(f.code) - 3) END,
       f.households, f.population, f.geom
FROM source_features f JOIN source_layers l ON l.id = f.layer_id
WHERE l.id = ANY($2)`

// CreateAsIsGeneration makes a draft generation from the latest admin
// layers and the base department's latest grid layer, taking every feature
// as it is: no cleaning, no new codes. It is the first generation a new
// installation gets; merges build better ones.
func (db *DB) CreateAsIsGeneration(ctx context.Context, p AsIsParams) (int, error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return 0, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	rows, err := tx.Query(ctx, checkLatestLayersSQL, p.BaseDept)
	if err != nil {
		return 0, fmt.Errorf("find layers: %w", err)
	}
	var ids []int64
	levels := map[string]bool{}
	for rows.Next() {
		var level, name, badExample string
		var id int64
		var bad, dup int
		if err := rows.Scan(&level, &id, &name, &bad, &dup, &badExample); err != nil {
			return 0, err
		}
		if bad > 0 {
			rows.Close()
			return 0, geo.Errorf(geo.EINVALID, "layer %d (%s, %s) has %d features without a well-formed %d-digit code, e.g. %q: re-import it with the right --code-field", id, name, level, bad, geo.Level(level).CodeLen(), badExample)
		}
		if dup > 0 {
			rows.Close()
			return 0, geo.Errorf(geo.EINVALID, "layer %d (%s, %s) repeats %d codes: fix the codes and re-import it", id, name, level, dup)
		}
		ids = append(ids, id)
		levels[level] = true
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	for _, l := range geo.Levels {
		if !levels[string(l)] {
			if l == geo.Grid {
				return 0, geo.Errorf(geo.EINVALID, "department %q has no grid layer: import one with 'gridd import --level grid --dept %s FILE'", p.BaseDept, p.BaseDept)
			}
			return 0, geo.Errorf(geo.EINVALID, "no %s layer imported: import one with 'gridd import --level %s FILE'", l, l)
		}
	}
	var gen int
	if err := tx.QueryRow(ctx, `INSERT INTO generations (note, params) VALUES ($1, jsonb_build_object('strategy', 'as-is', 'base', $2::text)) RETURNING id`, p.Note, p.BaseDept).Scan(&gen); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, insertAsIsAreasSQL, gen, ids); err != nil {
		return 0, fmt.Errorf("copy areas: %w", err)
	}
	return gen, tx.Commit(ctx)
}

// Activate makes gen the active generation and retires the one before, in
// one transaction: readers see either the old or the new one, never none.
func (db *DB) Activate(ctx context.Context, gen int) error {
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
	rows, err := db.Pool.Query(ctx, `SELECT id, state, created_at, activated_at, note FROM generations ORDER BY id DESC`)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "list generations")
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Generation, error) {
		var g geo.Generation
		err := r.Scan(&g.ID, &g.State, &g.CreatedAt, &g.ActivatedAt, &g.Note)
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
