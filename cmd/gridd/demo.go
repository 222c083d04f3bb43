package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/gridd/gridd/demo"
	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/postgis"
)

func runDemo(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	seed := fs.Int("seed", demo.DefaultSeed, "seed of the generated boundaries; the same seed gives the same city")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	return loadDemo(ctx, db, *seed, stdout)
}

// loadDemo generates the demo layers and makes and activates a first
// generation from them.
func loadDemo(ctx context.Context, db *database, seed int, stdout io.Writer) error {
	if seed == 0 {
		seed = demo.DefaultSeed
	}
	start := time.Now()
	city, err := demo.Ningbo(demo.DefaultDistrict)
	if err != nil {
		return err
	}
	in := postgis.DemoInput{District: city.District, BoundaryGeoJSON: city.BoundaryGeoJSON, Seed: seed}
	in.Divisions = append(append(in.Divisions, city.Streets...), city.Communities...)
	if err := db.GenerateDemo(ctx, in); err != nil {
		return err
	}
	rep, err := db.Merge(ctx, geo.MergeParams{Base: []string{"zongzhi"}, Note: "demo city"})
	if err != nil {
		return err
	}
	gen := rep.Generation
	if err := db.Activate(ctx, gen); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo city %s %s (seed %d): %d streets, %d communities, %d grids merged from 综治, 城管, 党建; generation %d active (%.1fs)\n",
		city.District.Code, city.District.Name, seed, len(city.Streets), len(city.Communities), rep.Levels["grid"].Areas, gen, time.Since(start).Seconds())
	return nil
}
