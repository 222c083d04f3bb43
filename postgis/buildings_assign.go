package postgis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// The assignment statements write into %[1]s: the generation's partition
// of building_grid being built (a fresh table: every building is new to
// it) or building_grid itself when only the buildings a re-import added or
// changed are assigned; %[2]s is then the condition that skips the
// buildings already assigned.
const assignedAlready = `AND NOT EXISTS (SELECT 1 FROM building_grid bg WHERE bg.generation = $1 AND bg.building_id = b.id)`

// assignPointsSQL puts every point building of generation $1 into the grid
// covering it. Where a point lies on a border shared by grids, the smaller
// code wins: locate's rule (locateSQL and the in-memory index). The grids
// drive the join, so that each grid's polygon is prepared once for all the
// points inside it.
const assignPointsSQL = `
INSERT INTO %[1]s (generation, building_id, grid_code, share, households, residents)
SELECT DISTINCT ON (b.id) $1, b.id, a.code, 1, b.households, b.residents
FROM areas a
JOIN buildings b ON ST_Covers(a.geom, b.geom)
WHERE a.generation = $1 AND a.level = 'grid' AND GeometryType(b.geom) = 'POINT' %[2]s
ORDER BY b.id, a.code`

// assignFootprintsSQL puts every footprint of generation $1 into the grid
// holding the largest share of its area (ties: the smaller code); a
// footprint inside one grid needs no intersection computed.
const assignFootprintsSQL = `
INSERT INTO %[1]s (generation, building_id, grid_code, share, households, residents)
SELECT DISTINCT ON (b.id) $1, b.id, a.code, s.share, b.households, b.residents
FROM areas a
JOIN buildings b ON ST_Intersects(a.geom, b.geom)
CROSS JOIN LATERAL (SELECT CASE WHEN ST_Covers(a.geom, b.geom) THEN 1.0
                                ELSE coalesce(ST_Area(ST_Intersection(a.geom, b.geom)) / nullif(ST_Area(b.geom), 0), 0) END AS share) s
WHERE a.generation = $1 AND a.level = 'grid' AND GeometryType(b.geom) = 'MULTIPOLYGON' %[2]s
ORDER BY b.id, s.share DESC, a.code`

// assignOutsideSQL records the buildings left over (outside every grid of
// generation $1, or touching one only along a line) with the nearest grid
// and its distance in metres: they are reported, never dropped. A
// footprint that only touches a grid has distance 0. Format verb: the
// table written (its rows so far are the assigned buildings).
const assignOutsideSQL = `
INSERT INTO %[1]s (generation, building_id, grid_code, share, nearest_code, distance_m, households, residents)
SELECT $1, b.id, NULL, 0, n.code, ST_Distance(b.geom::geography, n.geom::geography), b.households, b.residents
FROM buildings b
LEFT JOIN LATERAL (SELECT a.code, a.geom FROM areas a WHERE a.generation = $1 AND a.level = 'grid'
                   ORDER BY a.geom <-> b.geom, a.code LIMIT 1) n ON true
WHERE NOT EXISTS (SELECT 1 FROM %[1]s bg WHERE bg.generation = $1 AND bg.building_id = b.id)`

// registerResidentsSQL is what the register (实有人口) says of each
// building it covers: the members of its households. Where it covers a
// building they are its residents, not the building file's attribute;
// households stay the building's 户数 (a register may hold only some of
// them, and the size rules and rebalancing weigh buildings by it).
const registerResidentsSQL = `SELECT building_id, sum(members)::int AS res FROM households GROUP BY building_id`

// rollUpSQL refills the counts of generation $1 from its assignment: per
// grid first, then per community, street and district by code prefix
// (codes nest). Every area gets a row, 0 where no building lies: once
// buildings are loaded, their count is the figure (an empty grid has no
// households), not a department's attribute.
var rollUpSQL = []string{
	`DELETE FROM area_counts WHERE generation = $1`,
	`WITH r AS (` + registerResidentsSQL + `), g AS (
	    SELECT bg.grid_code AS code, count(*)::int AS n, coalesce(sum(bg.households), 0)::int AS hh,
	           coalesce(sum(coalesce(r.res, bg.residents)), 0)::int AS res
	    FROM building_grid bg LEFT JOIN r ON r.building_id = bg.building_id
	    WHERE bg.generation = $1 AND bg.grid_code IS NOT NULL
	    GROUP BY bg.grid_code
	), c AS (
	    SELECT c.code, sum(g.n) AS n, sum(g.hh) AS hh, sum(g.res) AS res
	    FROM g CROSS JOIN LATERAL (VALUES (g.code), (left(g.code, 12)), (left(g.code, 9)), (left(g.code, 6))) c(code)
	    GROUP BY c.code
	)
	INSERT INTO area_counts (generation, code, level, buildings, households, residents)
	SELECT $1, a.code, a.level, coalesce(c.n, 0), coalesce(c.hh, 0), coalesce(c.res, 0)
	FROM areas a LEFT JOIN c ON c.code = a.code
	WHERE a.generation = $1`,
}

// outsideListSQL lists the buildings of generation $1 outside every grid,
// the farthest first.
const outsideListSQL = `
SELECT building_id, coalesce(nearest_code, ''), coalesce(distance_m, 0)
FROM building_grid WHERE generation = $1 AND grid_code IS NULL
ORDER BY distance_m DESC NULLS FIRST, building_id LIMIT 100`

// assignBuildings assigns the buildings to the grids of generation gen
// and refills its counts. With full (or when the generation has no
// assignment yet) it builds the generation's partition anew; otherwise it
// assigns only the buildings without a grid there (those a re-import added
// or changed).
func assignBuildings(ctx context.Context, tx pgx.Tx, gen int, full bool) (geo.BuildingAssignment, error) {
	a := geo.BuildingAssignment{Generation: gen}
	// Sorts of a million rows stay in memory.
	if _, err := tx.Exec(ctx, `SET LOCAL work_mem = '256MB'`); err != nil {
		return a, err
	}
	g := strconv.Itoa(gen)
	part := pgx.Identifier{"building_grid_g" + g}.Sanitize()
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, "building_grid_g"+g).Scan(&exists); err != nil {
		return a, err
	}
	if full || !exists {
		if exists {
			if _, err := tx.Exec(ctx, `DROP TABLE `+part); err != nil {
				return a, err
			}
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE `+part+` (LIKE building_grid INCLUDING DEFAULTS, CHECK (generation = `+g+`))`); err != nil {
			return a, err
		}
		for _, q := range []string{assignPointsSQL, assignFootprintsSQL} {
			if _, err := tx.Exec(ctx, fmt.Sprintf(q, part, ""), gen); err != nil {
				return a, err
			}
		}
		// Indexed in bulk, then attached; the outside step reads the
		// index.
		for _, q := range []string{
			`ALTER TABLE ` + part + ` ADD PRIMARY KEY (generation, building_id)`,
			`CREATE INDEX ON ` + part + ` (generation, grid_code)`,
			`ALTER TABLE building_grid ATTACH PARTITION ` + part + ` FOR VALUES IN (` + g + `)`,
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return a, fmt.Errorf("attach the assignment of generation %d: %w", gen, err)
			}
		}
	} else {
		for _, q := range []string{assignPointsSQL, assignFootprintsSQL} {
			if _, err := tx.Exec(ctx, fmt.Sprintf(q, "building_grid", assignedAlready), gen); err != nil {
				return a, err
			}
		}
	}
	// Most sets lie inside the coverage: the outside step's anti-join is
	// run only when some buildings are left.
	var left bool
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM buildings) > (SELECT count(*) FROM building_grid WHERE generation = $1)`, gen).Scan(&left); err != nil {
		return a, err
	}
	if left {
		if _, err := tx.Exec(ctx, fmt.Sprintf(assignOutsideSQL, part), gen); err != nil {
			return a, err
		}
	}
	if err := rollUp(ctx, tx, gen); err != nil {
		return a, err
	}
	if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE grid_code IS NOT NULL), count(*) FILTER (WHERE grid_code IS NULL)
		FROM building_grid WHERE generation = $1`, gen).Scan(&a.Assigned, &a.Outside); err != nil {
		return a, err
	}
	if a.Outside > 0 {
		rows, err := tx.Query(ctx, outsideListSQL, gen)
		if err != nil {
			return a, err
		}
		a.OutsideList, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.BuildingOutside, error) {
			var o geo.BuildingOutside
			err := r.Scan(&o.ID, &o.NearestGrid, &o.DistanceM)
			return o, err
		})
		if err != nil {
			return a, err
		}
	}
	return a, nil
}

// movesSQL counts the buildings of generation $1 whose grid differs from
// the active generation's, and their households.
const movesSQL = `
SELECT count(*)::int, coalesce(sum(d.households), 0)::int
FROM building_grid d
JOIN building_grid a ON a.building_id = d.building_id AND a.generation = (SELECT id FROM generations WHERE state = 'active')
WHERE d.generation = $1 AND d.grid_code IS DISTINCT FROM a.grid_code`

// assignDraftBuildings assigns the buildings to the grids of a generation
// a merge is making (inside its transaction) and says how many would move
// to another grid than under the active generation; nil when no buildings
// are loaded.
func assignDraftBuildings(ctx context.Context, tx pgx.Tx, gen int) (*geo.BuildingMoves, error) {
	var loaded bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM buildings)`).Scan(&loaded); err != nil || !loaded {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gridd:buildings'))`); err != nil {
		return nil, err
	}
	a, err := assignBuildings(ctx, tx, gen, true)
	if err != nil {
		return nil, fmt.Errorf("assign buildings: %w", err)
	}
	m, err := moves(ctx, tx, gen)
	if err != nil {
		return nil, err
	}
	m.Assigned, m.Outside = a.Assigned, a.Outside
	return &m, nil
}

// AssignBuildings (re)computes the assignment of every building to the
// grids of generation gen and its counts, in one transaction.
func (db *DB) AssignBuildings(ctx context.Context, gen int) (geo.BuildingAssignment, error) {
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.BuildingAssignment{}, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('gridd:buildings'))`); err != nil {
		return geo.BuildingAssignment{}, err
	}
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM generations WHERE id = $1)`, gen).Scan(&exists); err != nil {
		return geo.BuildingAssignment{}, err
	}
	if !exists {
		return geo.BuildingAssignment{}, geo.Errorf(geo.ENOTFOUND, "no generation %d", gen)
	}
	a, err := assignBuildings(ctx, tx, gen, true)
	if err != nil {
		return a, err
	}
	return a, tx.Commit(ctx)
}
