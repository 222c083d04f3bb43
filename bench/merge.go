package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchMerge: a generated city whose five departmental layers hold about
// 5,000 grids each, merged by 'gridd merge'; for scale, mapshaper -clean
// (topology cleaning of the base layer alone, no nesting, no codes).
func benchMerge(ctx context.Context, e *env) error {
	dbURL, err := e.newDatabase(ctx, "bench_merge")
	if err != nil {
		return err
	}
	if _, err := timed(e.gridd, "demo", "--db", dbURL, "--seed", "42", "--grid-scale", "3.85", "--no-merge"); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// Five departments with about 5,000 grids each: the others redraw the
	// 综治 grids a few metres off in their own direction (new versions of
	// 城管 and 党建, whose demo layers are coarser).
	for _, d := range []struct {
		dept, from string
		dx, dy     float64
	}{{"gongan", "zongzhi", 12, -9}, {"shichang", "zongzhi", -25, 18}, {"chengguan", "zongzhi", 7, 15}, {"dangjian", "zongzhi", -14, -6}} {
		if _, err := conn.Exec(ctx, `
			WITH src AS (SELECT id FROM source_layers WHERE dept_code = $2 AND level = 'grid'),
			ins AS (INSERT INTO source_layers (dept_code, level, version, name)
			        SELECT $1, 'grid', coalesce(max(version), 0) + 1, $1 || ' (bench)' FROM source_layers WHERE dept_code = $1 AND level = 'grid'
			        RETURNING id)
			INSERT INTO source_features (layer_id, fid, code, name, parent_code, households, geom)
			SELECT ins.id, f.fid, upper($1) || f.fid, f.name, f.parent_code, f.households,
			       ST_Transform(ST_Translate(ST_Transform(f.geom, 32651), $3, $4), 4326)
			FROM ins, src JOIN source_features f ON f.layer_id = src.id`, d.dept, d.from, d.dx, d.dy); err != nil {
			return err
		}
	}
	rows, err := conn.Query(ctx, `SELECT l.dept_code, count(*) FROM source_layers l JOIN source_features f ON f.layer_id = l.id
		WHERE l.level = 'grid' AND l.version = (SELECT max(version) FROM source_layers m WHERE m.dept_code = l.dept_code AND m.level = 'grid')
		GROUP BY 1 ORDER BY 1`)
	if err != nil {
		return err
	}
	var sizes []string
	var base int
	for rows.Next() {
		var d string
		var n int
		rows.Scan(&d, &n)
		sizes = append(sizes, fmt.Sprintf("%s %d", d, n))
		if d == "zongzhi" {
			base = n
		}
	}
	rows.Close()
	fmt.Printf("city: 1 district, 25 streets, 407 communities; departmental grids: %s\n", strings.Join(sizes, ", "))
	start := time.Now()
	out, err := exec.Command(e.gridd, "merge", "--db", dbURL, "--json").CombinedOutput()
	if err != nil {
		return fmt.Errorf("gridd merge: %v: %s", err, lastLines(string(out), 5))
	}
	mergeT := time.Since(start)
	var rep struct{ Timings map[string]float64 }
	json.Unmarshal(out, &rep)
	var grids int
	conn.QueryRow(ctx, `SELECT count(*) FROM areas a JOIN generations g ON g.id = a.generation WHERE a.level = 'grid' AND g.id = (SELECT max(id) FROM generations)`).Scan(&grids)

	// mapshaper on the base layer alone, exported as GeoJSON.
	basePath := filepath.Join(e.work, "zongzhi.geojson")
	if _, err := timed("ogr2ogr", "-f", "GeoJSON", basePath, "PG:"+pgDSN(dbURL), "-sql",
		"SELECT f.code, f.geom FROM source_features f JOIN source_layers l ON l.id = f.layer_id WHERE l.dept_code = 'zongzhi'"); err != nil {
		return err
	}
	mapshaperT, err := timed("bench/node_modules/.bin/mapshaper", basePath, "-clean", "-o", filepath.Join(e.work, "cleaned.geojson"))
	if err != nil {
		return err
	}
	fmt.Printf("%-62s %10s\n", "", "seconds")
	fmt.Printf("%-62s %10.1f\n", fmt.Sprintf("gridd merge: 5 layers → 4 nested levels, %d coded grids,", grids), mergeT.Seconds())
	fmt.Printf("%-62s\n", "  lineage, crosswalks of all 5 layers (goal < 60 s)")
	fmt.Printf("%-62s %10.1f\n", fmt.Sprintf("mapshaper -clean on the base layer alone (%d polygons)", base), mapshaperT.Seconds())
	steps := make([]string, 0, len(rep.Timings))
	for k, v := range rep.Timings {
		steps = append(steps, fmt.Sprintf("%s %.1f", k, v))
	}
	sort.Strings(steps)
	fmt.Printf("gridd merge steps (s): %s\n", strings.Join(steps, ", "))
	return nil
}
