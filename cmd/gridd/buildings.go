package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/importers"
)

// importBuildings reads a file of buildings (points or footprints, in any
// format and coordinate system layers take) and replaces the building set
// with it, assigning it to the grids of every generation.
func (s *importService) importBuildings(ctx context.Context, path string, req geo.ImportRequest, progress func(int)) (geo.ImportReport, error) {
	var rep geo.ImportReport
	src, err := openSource(path, req)
	if err != nil {
		return rep, err
	}
	defer src.r.Close()
	info := src.r.Info()
	rep.Format, rep.Encoding, rep.Fields, rep.SRS = info.Format, info.Encoding, info.Fields, src.srsLabel
	mapping, err := importers.MapBuildingFields(info.Fields, importers.BuildingOptions{IDField: req.CodeField, NameField: req.NameField,
		AddressField: req.AddressField, HouseholdsField: req.HouseholdsField, ResidentsField: req.PopulationField,
		FloorsField: req.FloorsField, UseField: req.UseField})
	if err != nil {
		return rep, err
	}
	rep.Mapping, rep.Guessed = mapping.Fields(), mapping.Guessed
	meta := geo.BuildingMeta{Name: req.Name, FileName: req.FileName, FileHash: src.hash, SRID: src.srid,
		SRSFromUser: src.srsFromUser, SRSLabel: src.srsLabel, DryRun: req.DryRun, AllowOutside: req.AllowOutside}
	n := 0
	next := func() (geo.Building, error) {
		f, err := src.r.Next()
		if err != nil {
			return geo.Building{}, err
		}
		n++
		if progress != nil && n%1000 == 0 {
			progress(n)
		}
		f.Geometry = toWGS84(src.datum, f.Geometry)
		b, err := mapping.Building(f, n)
		if err != nil {
			return b, geo.Errorf(geo.EINVALID, "%s: feature %d: %s", req.FileName, n, geo.ErrorMessage(err))
		}
		return b, nil
	}
	err = s.db.ImportBuildings(ctx, meta, next, &rep)
	if progress != nil {
		progress(n)
	}
	return rep, err
}

// printBuildingReport prints what a building import did.
func printBuildingReport(w io.Writer, path string, rep geo.ImportReport) {
	b := rep.Buildings
	switch {
	case rep.Unchanged:
		fmt.Fprintf(w, "%s is identical to version %d of the building set: nothing imported\n", path, rep.Version)
		return
	case rep.DryRun:
		fmt.Fprintf(w, "dry run of %s: nothing written\n", path)
	default:
		fmt.Fprintf(w, "imported %s as version %d of the building set\n", path, rep.Version)
	}
	printSourceLines(w, rep)
	if b == nil {
		return
	}
	fmt.Fprintf(w, "  %d buildings read (%d points, %d footprints): %d added, %d removed, %d changed, %d the same; %.1fs\n",
		rep.Read, b.Points, b.Footprints, b.Added, b.Removed, b.Changed, b.Same, rep.Seconds)
	if len(b.UnknownUses) > 0 {
		uses := make([]string, 0, len(b.UnknownUses))
		for u, n := range b.UnknownUses {
			uses = append(uses, fmt.Sprintf("%s ×%d", u, n))
		}
		sort.Strings(uses)
		fmt.Fprintf(w, "  uses outside the catalogue, stored as 其他: %s\n", strings.Join(uses, ", "))
	}
	for _, a := range b.Assignments {
		fmt.Fprintf(w, "  generation %d: %d buildings in a grid, %d outside every grid\n", a.Generation, a.Assigned, a.Outside)
		for i, o := range a.OutsideList {
			if i == 10 {
				fmt.Fprintf(w, "    … %d more\n", a.Outside-10)
				break
			}
			fmt.Fprintf(w, "    building %s: %.0f m from grid %s\n", o.ID, o.DistanceM, o.NearestGrid)
		}
	}
}

// runBuildings runs 'gridd buildings assign --gen N': the assignment of
// every building to a generation's grids and its counts, computed anew
// (imports and merges do it themselves; this repairs or measures it).
func runBuildings(ctx context.Context, args []string, stdout io.Writer) error {
	usage := geo.Errorf(geo.EINVALID, "use 'gridd buildings assign --gen N' (import buildings with 'gridd import --kind buildings FILE')")
	if len(args) == 0 || args[0] != "assign" {
		return usage
	}
	fs := flag.NewFlagSet("buildings assign", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	gen := fs.Int("gen", 0, "generation to assign the buildings to (required)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *gen <= 0 || fs.NArg() != 0 {
		return usage
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := db.AssignBuildings(ctx, *gen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "generation %d: %d buildings in a grid, %d outside every grid\n", a.Generation, a.Assigned, a.Outside)
	return nil
}
