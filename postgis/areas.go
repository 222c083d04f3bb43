package postgis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// searchAreasSQL finds areas of generation $1 within scope $2 (a code
// prefix, empty for all) whose code starts with $3 or whose name contains
// it: code matches first, then exact names, then the higher levels, then
// by code. $4 limits. The tables are small (thousands of grids per
// district): a scan of one generation's rows is fast enough and needs no
// trigram index.
const searchAreasSQL = `
SELECT a.code, a.name, a.level, a.parent_code, ST_XMin(b.b), ST_YMin(b.b), ST_XMax(b.b), ST_YMax(b.b)
FROM areas a, LATERAL (SELECT Box2D(a.geom) AS b) b
WHERE a.generation = $1
  AND left(a.code, length($2)) = $2
  AND (left(a.code, length($3)) = $3 OR strpos(a.name, $3) > 0)
ORDER BY left(a.code, length($3)) = $3 DESC, a.name = $3 DESC, length(a.code), a.code
LIMIT $4`

// SearchAreas finds the active generation's areas by code prefix or name
// substring within a scope.
func (db *DB) SearchAreas(ctx context.Context, q geo.AreaQuery) ([]geo.AreaHit, error) {
	gen, err := db.ActiveGeneration(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.Pool.Query(ctx, searchAreasSQL, gen, q.Scope, q.Q, q.Limit)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "search areas")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.AreaHit, error) {
		var h geo.AreaHit
		err := r.Scan(&h.Code, &h.Name, &h.Level, &h.ParentCode, &h.BBox[0], &h.BBox[1], &h.BBox[2], &h.BBox[3])
		return h, err
	})
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "search areas")
	}
	return out, nil
}

// areaSQL reads one area of generation $1 by code $2 with its chain
// (the areas whose codes are prefixes of it, top down), its geodesic
// area in m² and its extent. Its households are counted from buildings
// where they are loaded (area_counts), else the department's attribute,
// and say which; its residents from the register once one is loaded.
const areaSQL = `
SELECT a.name, a.level, coalesce(c.households, a.households),
       CASE WHEN c.code IS NOT NULL THEN 'data' WHEN a.households IS NOT NULL THEN 'attribute' ELSE '' END,
       c.buildings, c.residents,
       CASE WHEN c.code IS NULL THEN '' WHEN EXISTS (SELECT 1 FROM households) THEN 'register' ELSE 'data' END,
       a.population, ST_Area(a.geom::geography),
       ST_XMin(b.b), ST_YMin(b.b), ST_XMax(b.b), ST_YMax(b.b),
       (SELECT json_agg(json_build_object('code', p.code, 'name', p.name) ORDER BY length(p.code))
        FROM areas p WHERE p.generation = $1 AND p.code IN (left($2, 6), left($2, 9), left($2, 12), $2))
FROM areas a CROSS JOIN LATERAL (SELECT Box2D(a.geom) AS b) b
LEFT JOIN area_counts c ON c.generation = a.generation AND c.code = a.code
WHERE a.generation = $1 AND a.code = $2`

// areaPeopleSQL lists the active people responsible for area $1, by
// role, primary post (A岗) before backup (B岗).
const areaPeopleSQL = `
SELECT p.id, p.name, p.phone, coalesce(p.dept_code, ''), a.role, a.post,
       coalesce((SELECT json_agg(json_build_object('weekday', w.weekday, 'start', w.start_min, 'end', w.end_min) ORDER BY w.weekday, w.start_min)
                 FROM duty_windows w WHERE w.person_id = p.id), '[]')
FROM assignments a JOIN people p ON p.id = a.person_id
WHERE a.area_code = $1 AND p.active
ORDER BY a.role, a.post, p.id`

// areaCasesSQL counts an area's open cases and the overdue ones among
// them (flagged by the scheduler, or past the deadline with the clock
// running). %s is the incidents' code column of the area's level, from
// areaColumns.
const areaCasesSQL = `
SELECT count(*),
       count(*) FILTER (WHERE i.alert = 'overdue' OR (i.deadline_at < now()
           AND i.state IN ('reported', 'registered', 'dispatched', 'accepted', 'extension_requested', 'returned')))
FROM incidents i
WHERE %s = $1 AND i.state NOT IN ('closed', 'cancelled')`

// areaChildrenSQL lists the areas one level down of generation $1 under
// $2 with their open cases. The first %s is the incidents' code column of
// the children's level, the second the area's.
const areaChildrenSQL = `
SELECT c.code, c.name, c.level, coalesce(n.open, 0)
FROM areas c
LEFT JOIN (SELECT %s AS code, count(*) AS open FROM incidents i
           WHERE %s = $2 AND i.state NOT IN ('closed', 'cancelled') GROUP BY 1) n ON n.code = c.code
WHERE c.generation = $1 AND c.parent_code = $2
ORDER BY c.code`

// Area returns what the console's area panel shows about one area of the
// active generation.
func (db *DB) Area(ctx context.Context, code string) (geo.AreaDetail, error) {
	level, err := geo.LevelOfCode(code)
	if err != nil {
		return geo.AreaDetail{}, err
	}
	gen, err := db.ActiveGeneration(ctx)
	if err != nil {
		return geo.AreaDetail{}, err
	}
	d := geo.AreaDetail{Generation: gen, Code: code, People: []geo.AreaPerson{}, Children: []geo.AreaChild{}}
	var chain []byte
	err = db.Pool.QueryRow(ctx, areaSQL, gen, code).Scan(&d.Name, &d.Level, &d.Households, &d.HouseholdsSource, &d.Buildings, &d.Residents, &d.ResidentsSource, &d.Population, &d.AreaM2,
		&d.BBox[0], &d.BBox[1], &d.BBox[2], &d.BBox[3], &chain)
	if errors.Is(err, pgx.ErrNoRows) {
		return d, geo.Errorf(geo.ENOTFOUND, "no area %s in the active generation %d: search with GET /api/v1/areas?q=", code, gen)
	}
	if err != nil {
		return d, geo.WrapError(geo.EUNAVAILABLE, err, "read area %s", code)
	}
	if err := json.Unmarshal(chain, &d.Chain); err != nil {
		return d, fmt.Errorf("area %s chain: %w", code, err)
	}

	rows, err := db.Pool.Query(ctx, areaPeopleSQL, code)
	if err != nil {
		return d, geo.WrapError(geo.EUNAVAILABLE, err, "read the people of area %s", code)
	}
	now := time.Now()
	d.People, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.AreaPerson, error) {
		var p geo.AreaPerson
		var duty []byte
		if err := r.Scan(&p.PersonID, &p.Name, &p.Phone, &p.Dept, &p.Role, &p.Post, &duty); err != nil {
			return p, err
		}
		var err error
		if p.Duty, err = decodeDuty(duty); err != nil {
			return p, err
		}
		p.RoleLabel, p.OnDuty = p.Role.Label(), geo.OnDuty(p.Duty, now)
		return p, nil
	})
	if err != nil {
		return d, geo.WrapError(geo.EUNAVAILABLE, err, "read the people of area %s", code)
	}

	col := areaColumns[level]
	if err := db.Pool.QueryRow(ctx, fmt.Sprintf(areaCasesSQL, col), code).Scan(&d.OpenCases, &d.OverdueCases); err != nil {
		return d, geo.WrapError(geo.EUNAVAILABLE, err, "count the cases of area %s", code)
	}
	if child := level.Child(); child != "" {
		rows, err := db.Pool.Query(ctx, fmt.Sprintf(areaChildrenSQL, areaColumns[child], col), gen, code)
		if err != nil {
			return d, geo.WrapError(geo.EUNAVAILABLE, err, "list the areas under %s", code)
		}
		d.Children, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.AreaChild, error) {
			var c geo.AreaChild
			return c, r.Scan(&c.Code, &c.Name, &c.Level, &c.OpenCases)
		})
		if err != nil {
			return d, geo.WrapError(geo.EUNAVAILABLE, err, "list the areas under %s", code)
		}
	}
	return d, nil
}

// incidentTileSQL cuts one MVT tile (layer "incidents", one point per
// case, the case id as feature id) of the cases matching a filter: $4
// states (NULL: the open ones), $5 an area code of any level (empty for
// all), $6 the assignee (0 for anyone), $7 a category (empty for all).
// Each point carries its deadline status: ok before 80 % of the time
// limit (warn_at), warn until the deadline, overdue after it — measured
// at now while the clock runs, at the handling time once handled.
const incidentTileSQL = `
WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e,
                    ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326) AS e4326)
SELECT coalesce((
    SELECT ST_AsMVT(t, 'incidents', 4096, 'geom', 'id')
    FROM (
        SELECT i.id, i.state, i.category_code AS category, i.grid_code AS grid,
               CASE WHEN i.alert = 'overdue' OR m.at >= i.deadline_at THEN 'overdue'
                    WHEN m.at >= i.warn_at THEN 'warn' ELSE 'ok' END AS due,
               ST_AsMVTGeom(ST_Transform(i.geom, 3857), env.e, 4096, 64, true) AS geom
        FROM incidents i, env,
             LATERAL (SELECT CASE WHEN i.state IN ('reported', 'registered', 'dispatched', 'accepted', 'extension_requested', 'returned')
                                  THEN now() ELSE coalesce(i.handled_at, i.closed_at, i.updated_at) END AS at) m
        WHERE i.geom && env.e4326
          AND (CASE WHEN $4::text[] IS NULL THEN i.state NOT IN ('closed', 'cancelled') ELSE i.state = ANY ($4) END)
          AND ($5 = '' OR i.district_code = $5 OR i.street_code = $5 OR i.community_code = $5 OR i.grid_code = $5)
          AND ($6 = 0 OR i.assignee_id = $6)
          AND ($7 = '' OR i.category_code = $7)
    ) t
    WHERE geom IS NOT NULL
), ''::bytea)`

// IncidentTile returns the MVT tile z/x/y of the cases matching f (its
// states, area, assignee and category; none of the states: the open
// cases); nil when no case falls in it.
func (db *DB) IncidentTile(ctx context.Context, f geo.IncidentFilter, z, x, y int) ([]byte, error) {
	var states []string
	for _, s := range f.States {
		states = append(states, string(s))
	}
	var tile []byte
	if err := db.Pool.QueryRow(ctx, incidentTileSQL, z, x, y, states, f.Area, f.AssigneeID, f.Category).Scan(&tile); err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "incident tile %d/%d/%d", z, x, y)
	}
	if len(tile) == 0 {
		return nil, nil
	}
	return tile, nil
}
