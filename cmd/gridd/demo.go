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
	scale := fs.Float64("grid-scale", 1, "multiply the number of grids per community (for big test cities)")
	noMerge := fs.Bool("no-merge", false, "load the layers only; do not merge and activate a generation")
	district := fs.String("district", demo.DefaultDistrict, "county code of the Ningbo district to build the city from (e.g. 330206 北仑区; an unknown code lists them)")
	people := fs.Bool("people", true, "give the city its synthetic people (grid workers, police, departments by street, supervisors)")
	history := fs.Int("history-days", defaultHistoryDays, "days of synthetic case history routed to the people (0: none; needs --people)")
	register := fs.Bool("register", true, "give the city its synthetic register of households and residents (sealed with the register key, made if missing)")
	var kf registerKeyFlags
	kf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	o := demoOptions{seed: *seed, gridScale: *scale, noMerge: *noMerge, district: *district, people: *people, historyDays: *history}
	if *register && !*noMerge {
		if o.registerKey, err = kf.load(dbf.dataDir, true, stdout); err != nil {
			return err
		}
	}
	return loadDemo(ctx, db, o, stdout)
}

// demoOptions vary the demo city.
type demoOptions struct {
	seed      int
	gridScale float64
	noMerge   bool
	district  string // county code; "" is demo.DefaultDistrict
	// people loads the synthetic people and historyDays days of case
	// history with them (postgis.DemoPeople), after the activation.
	people      bool
	historyDays int
	// registerKey, when set, seals the synthetic register loaded after
	// the activation (postgis.DemoRegister).
	registerKey *geo.RegisterKey
}

// defaultHistoryDays is the case history a demo starts with: enough for
// the dashboard's months and the analysis' previous period.
const defaultHistoryDays = 90

// loadDemo generates the demo layers and makes and activates a first
// generation from them.
func loadDemo(ctx context.Context, db *database, o demoOptions, stdout io.Writer) error {
	seed := o.seed
	if seed == 0 {
		seed = demo.DefaultSeed
	}
	start := time.Now()
	district := o.district
	if district == "" {
		district = demo.DefaultDistrict
	}
	city, err := demo.Ningbo(district)
	if err != nil {
		return err
	}
	in := postgis.DemoInput{District: city.District, BoundaryGeoJSON: city.BoundaryGeoJSON, Seed: seed, GridScale: o.gridScale,
		UrbanCentre: city.UrbanCentre, Attribution: demo.Attribution}
	in.Divisions = append(append(in.Divisions, city.Streets...), city.Communities...)
	if err := db.GenerateDemo(ctx, in); err != nil {
		return err
	}
	if o.noMerge {
		fmt.Fprintf(stdout, "demo city %s %s (seed %d): layers loaded, not merged (%.1fs)\n", city.District.Code, city.District.Name, seed, time.Since(start).Seconds())
		return nil
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
	if o.registerKey != nil {
		rr, err := db.DemoRegister(ctx, o.registerKey, gen, seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "demo register (synthetic): %d households, %d residents (%.1fs)\n", rr.Households, rr.Residents, rr.Seconds)
	}
	if !o.people {
		return nil
	}
	pr, err := db.DemoPeople(ctx, gen, seed, o.historyDays)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo people (synthetic): %d people at their posts; %d cases over %d days, %d open\n", pr.People, pr.Cases, o.historyDays, pr.Open)
	return nil
}
