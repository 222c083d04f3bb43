package postgis

import (
	"context"
	_ "embed"
	"strconv"

	"github.com/gridd/gridd/geo"
)

var (
	//go:embed sql/demo_people.sql
	demoPeopleSQL string
	//go:embed sql/demo_history.sql
	demoHistorySQL string
	//go:embed sql/demo_summons.sql
	demoSummonsSQL string
)

// DemoPeopleReport says what DemoPeople added.
type DemoPeopleReport struct {
	People int `json:"people"`
	Cases  int `json:"cases"`
	Open   int `json:"open"` // of the cases, those still open now
}

// DemoPeople gives the demo city's generation its synthetic people — every
// grid's 网格长 and A/B 专职网格员 with duty windows, every community's
// 社区民警, the departments' people by street, the supervisors of each
// level — and, with historyDays > 0, that many days of synthetic case
// history routed to them, some with 吹哨报到 summons (sql/demo_people.sql,
// sql/demo_history.sql, sql/demo_summons.sql). One
// transaction; the same seed gives the same people and cases. It refuses
// a database that has people already: the demo's people are for a demo
// database, never mixed with real ones.
func (db *DB) DemoPeople(ctx context.Context, generation, seed, historyDays int) (DemoPeopleReport, error) {
	var rep DemoPeopleReport
	if seed <= 0 || historyDays < 0 || historyDays > 3660 {
		return rep, geo.Errorf(geo.EINVALID, "demo people: seed %d and %d days of history: use a positive seed and 0 to 3660 days", seed, historyDays)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	var people, grids int
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM people),
		(SELECT count(*) FROM areas WHERE generation = $1 AND level = 'grid')`, generation).Scan(&people, &grids); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "count people")
	}
	if people > 0 {
		return rep, geo.Errorf(geo.ECONFLICT, "the database has %d people already; the demo's people go only into a database without any", people)
	}
	if grids == 0 {
		return rep, geo.Errorf(geo.ENOTFOUND, "generation %d has no grids to give people to", generation)
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('gridd.generation', $1, true), set_config('gridd.seed', $2, true),
		set_config('gridd.history_days', $3, true)`, strconv.Itoa(generation), strconv.Itoa(seed), strconv.Itoa(historyDays)); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "demo people settings")
	}
	if _, err := tx.Exec(ctx, demoPeopleSQL); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "demo people")
	}
	if historyDays > 0 {
		if _, err := tx.Exec(ctx, demoHistorySQL); err != nil {
			return rep, geo.WrapError(geo.EUNAVAILABLE, err, "demo case history")
		}
		if _, err := tx.Exec(ctx, demoSummonsSQL); err != nil {
			return rep, geo.WrapError(geo.EUNAVAILABLE, err, "demo summons")
		}
	}
	if err := tx.QueryRow(ctx, `SELECT (SELECT count(*) FROM people),
		(SELECT count(*) FROM incidents), (SELECT count(*) FROM incidents WHERE state NOT IN ('closed', 'cancelled'))`).
		Scan(&rep.People, &rep.Cases, &rep.Open); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "count the demo's people")
	}
	if err := tx.Commit(ctx); err != nil {
		return rep, geo.WrapError(geo.EUNAVAILABLE, err, "commit the demo's people")
	}
	return rep, nil
}
