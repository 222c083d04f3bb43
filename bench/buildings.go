package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/jackc/pgx/v5"
)

var _ = func() bool {
	extraBenchmarks = append(extraBenchmarks, benchmark{"buildings", benchBuildings})
	return true
}()

// benchBuildings: 1,000,000 building points inside the demo city's grids,
// as GeoJSON, imported and assigned to the active generation's grids by
// 'gridd import --kind buildings', and loaded (no assignment) by 'ogr2ogr
// -f PostgreSQL' into the same database; then the roll-up of a new
// generation (a merge's assignment of 1 M buildings).
func benchBuildings(ctx context.Context, e *env) error {
	n := 1000000
	if s := os.Getenv("GRIDD_BENCH_BUILDINGS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dbURL, err := e.newDatabase(ctx, "bench_buildings")
	if err != nil {
		return err
	}
	if _, err := timed(e.gridd, "demo", "--db", dbURL); err != nil {
		return err
	}
	path, changed := filepath.Join(e.work, "buildings.geojson"), filepath.Join(e.work, "buildings2.geojson")
	if err := writeBuildings(ctx, dbURL, path, n, 0); err != nil {
		return err
	}
	if err := writeBuildings(ctx, dbURL, changed, n, 100); err != nil {
		return err
	}
	// A first import, as into a city that had no buildings: the demo's
	// synthetic ones go first.
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `DELETE FROM building_grid; DELETE FROM area_counts; DELETE FROM buildings; DELETE FROM building_sets`); err != nil {
		return err
	}
	conn.Close(ctx)
	griddT, err := timed(e.gridd, "import", "--db", dbURL, "--kind", "buildings", path)
	if err != nil {
		return err
	}
	// The same set again with the households of every 100th building
	// changed: compared building by building, the changed ones reassigned.
	againT, err := timed(e.gridd, "import", "--db", dbURL, "--kind", "buildings", changed)
	if err != nil {
		return err
	}
	ogrT, err := timed("ogr2ogr", "-f", "PostgreSQL", "PG:"+pgDSN(dbURL), path, "-nln", "ogr_buildings",
		"-lco", "GEOMETRY_NAME=geom", "-t_srs", "EPSG:4326")
	if err != nil {
		return err
	}
	// A new generation's assignment and roll-up, as a merge makes it.
	conn, err = pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var gen int
	if err := conn.QueryRow(ctx, `INSERT INTO generations (note) VALUES ('bench copy') RETURNING id`).Scan(&gen); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `INSERT INTO areas (generation, level, code, name, parent_code, households, population, geom)
		SELECT $1, level, code, name, parent_code, households, population, geom FROM areas WHERE generation = 1`, gen); err != nil {
		return err
	}
	conn.Close(ctx)
	// What a merge adds for its draft: 'gridd buildings assign' runs the
	// same function in a transaction of its own.
	assignT, err := timed(e.gridd, "buildings", "assign", "--db", dbURL, "--gen", strconv.Itoa(gen))
	if err != nil {
		return err
	}
	fmt.Printf("%-58s %10s\n", fmt.Sprintf("%d building points (GeoJSON)", n), "seconds")
	fmt.Printf("%-58s %10.2f\n", "gridd import --kind buildings (load, check, assign, roll up)", griddT.Seconds())
	fmt.Printf("%-58s %10.2f\n", "gridd import of it again, 1 % of the buildings changed", againT.Seconds())
	fmt.Printf("%-58s %10.2f\n", "ogr2ogr -f PostgreSQL (GDAL, COPY, spatial index)", ogrT.Seconds())
	fmt.Printf("%-58s %10.2f×  (ogr2ogr time / gridd time; ≥ 1 means gridd is faster)\n", "ratio", ogrT.Seconds()/griddT.Seconds())
	fmt.Printf("%-58s %10.2f\n", "assignment and roll-up for a new generation", assignT.Seconds())
	return nil
}

// writeBuildings writes n building points spread over the demo district's
// grids, with ids, households, residents and uses, as GeoJSON; with
// every > 0, every every-th building has one household more.
func writeBuildings(ctx context.Context, dbURL, path string, n, every int) error {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT ST_X((d).geom), ST_Y((d).geom)
		FROM (SELECT ST_Dump(ST_GeneratePoints(ST_Union(geom), $1, 1)) AS d FROM areas WHERE generation = 1 AND level = 'district') x`, n)
	if err != nil {
		return err
	}
	defer rows.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(`{"type":"FeatureCollection","features":[`)
	uses := []string{"住宅", "住宅", "住宅", "商铺", "单位"}
	i := 0
	for rows.Next() {
		var x, y float64
		if err := rows.Scan(&x, &y); err != nil {
			return err
		}
		if i > 0 {
			w.WriteByte(',')
		}
		hh := 20 + i%180
		if every > 0 && i%every == 0 {
			hh++
		}
		fmt.Fprintf(w, "\n{\"type\":\"Feature\",\"properties\":{\"编号\":\"B%07d\",\"户数\":%d,\"人口\":%d,\"用途\":\"%s\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[%.7f,%.7f]}}",
			i+1, hh, hh*5/2, uses[i%len(uses)], x, y)
		i++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	w.WriteString("\n]}\n")
	return w.Flush()
}
