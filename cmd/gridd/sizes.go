package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/gridd/gridd/geo"
)

// sizeFlags are the size rules of merge and check, as MIN-MAX households.
type sizeFlags struct {
	grid, community string
}

func (f *sizeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.grid, "grid-households", "", "size rule of a grid, MIN-MAX households (default 300-500)")
	fs.StringVar(&f.community, "community-households", "", "size rule of a community, MIN-MAX households (default 3000-5000)")
}

// rules returns the ranges given; zero for those left to the default.
func (f *sizeFlags) rules() (grid, community geo.SizeRange, err error) {
	if f.grid != "" {
		if grid, err = geo.ParseSizeRange(f.grid); err != nil {
			return grid, community, geo.WrapError(geo.EINVALID, err, "--grid-households")
		}
	}
	if f.community != "" {
		if community, err = geo.ParseSizeRange(f.community); err != nil {
			return grid, community, geo.WrapError(geo.EINVALID, err, "--community-households")
		}
	}
	return grid, community, nil
}

// printSizes prints how the grids fall against the size rules: the
// histogram of households per grid (before and after, when there is a
// before) and the areas out of range.
func printSizes(w io.Writer, s *geo.SizeSummary, items []geo.ReviewItem, limit int) {
	if s == nil {
		return
	}
	fmt.Fprintf(w, "\nsize rules (households from %s): grid %s, community %s\n", s.Source, s.Grid, s.Community)
	fmt.Fprintf(w, "  grids above %d, below %d; communities above %d, below %d\n", s.GridsOver, s.GridsUnder, s.CommunitiesOver, s.CommunitiesUnd)
	if s.Split > 0 || s.Joined > 0 {
		fmt.Fprintf(w, "  rebalance: %d grids split, %d joined to a neighbour\n", s.Split, s.Joined)
	}
	for _, u := range s.Unsolved {
		fmt.Fprintf(w, "  not solved: %s\n", u)
	}
	top := 0
	for _, b := range s.After {
		top = max(top, b.Grids)
	}
	for _, b := range s.Before {
		top = max(top, b.Grids)
	}
	bar := func(n int) string {
		if top == 0 {
			return ""
		}
		return strings.Repeat("█", (n*30+top-1)/top)
	}
	for i, b := range s.After {
		if len(s.Before) > i {
			fmt.Fprintf(w, "  %5d–%-5d before %5d %-30s after %5d %s\n", b.From, b.To-1, s.Before[i].Grids, bar(s.Before[i].Grids), b.Grids, bar(b.Grids))
		} else {
			fmt.Fprintf(w, "  %5d–%-5d %5d %s\n", b.From, b.To-1, b.Grids, bar(b.Grids))
		}
	}
	for i, it := range items {
		if i == limit {
			fmt.Fprintf(w, "  … %d more out of range (--json lists them all)\n", len(items)-limit)
			break
		}
		fmt.Fprintf(w, "  %s %s: %s\n", it.Level, it.Code, it.Note)
	}
}
