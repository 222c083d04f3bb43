package postgis

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

//go:embed sql/demo.sql
var demoSQL string

// DemoInput is what the demo generator needs: one real district boundary
// (a GeoJSON geometry in lon/lat) and the real streets and communities
// under it.
type DemoInput struct {
	District        geo.Division
	BoundaryGeoJSON []byte
	Divisions       []geo.Division // streets and communities
	Seed            int
	// GridScale multiplies the number of grids per community (0 means 1);
	// benchmarks use it to make big cities.
	GridScale float64
	// UrbanCentre (lon, lat) is where the district's streets (街道) crowd;
	// nil: a point inside the district.
	UrbanCentre *[2]float64
	// Attribution credits the demo's sources on its layers.
	Attribution string
}

// GenerateDemo writes the demo city's source layers into an empty database
// in one transaction. The same input and seed give the same geometry.
func (db *DB) GenerateDemo(ctx context.Context, in DemoInput) error {
	if in.Seed <= 0 {
		return geo.Errorf(geo.EINVALID, "demo seed %d: use a positive whole number", in.Seed)
	}
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		return geo.WrapError(geo.EUNAVAILABLE, err, "begin")
	}
	defer tx.Rollback(ctx)
	var layers int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM source_layers`).Scan(&layers); err != nil {
		return err
	}
	if layers > 0 {
		return geo.Errorf(geo.ECONFLICT, "the database already has %d imported layers; the demo loads only into an empty database (use a new --data directory)", layers)
	}
	if in.GridScale == 0 {
		in.GridScale = 1
	}
	if !(in.GridScale > 0 && in.GridScale <= 50) {
		return geo.Errorf(geo.EINVALID, "demo grid scale %g: use a number in (0, 50]", in.GridScale)
	}
	attribution, err := CleanAttribution(in.Attribution)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `SELECT set_config('gridd.seed', $1, true), set_config('gridd.grid_scale', $2, true), set_config('gridd.attribution', $3, true)`,
		strconv.Itoa(in.Seed), strconv.FormatFloat(in.GridScale, 'f', -1, 64), attribution); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `
		CREATE TEMP TABLE demo_input_district (code text, name text, geom geometry, core geometry) ON COMMIT DROP;
		CREATE TEMP TABLE demo_input_divisions (code text, level text, name text, parent_code text) ON COMMIT DROP;`); err != nil {
		return err
	}
	var lon, lat *float64
	if in.UrbanCentre != nil {
		lon, lat = &in.UrbanCentre[0], &in.UrbanCentre[1]
	}
	if _, err := tx.Exec(ctx, `INSERT INTO demo_input_district VALUES ($1, $2, ST_GeomFromGeoJSON($3), ST_MakePoint($4, $5))`,
		in.District.Code, in.District.Name, string(in.BoundaryGeoJSON), lon, lat); err != nil {
		return geo.WrapError(geo.EINVALID, err, "demo district boundary")
	}
	rows := make([][]any, 0, len(in.Divisions))
	for _, d := range in.Divisions {
		rows = append(rows, []any{d.Code, string(d.Level), d.Name, d.ParentCode})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"demo_input_divisions"}, []string{"code", "level", "name", "parent_code"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copy divisions: %w", err)
	}
	if _, err := tx.Exec(ctx, demoSQL); err != nil {
		return fmt.Errorf("generate demo city: %w", err)
	}
	if err := generateDemoBuildings(ctx, tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
