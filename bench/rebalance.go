package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"time"

	"github.com/gridd/gridd/geo"
)

var _ = func() bool {
	extraBenchmarks = append(extraBenchmarks, benchmark{"rebalance", benchRebalance})
	return true
}()

// benchRebalance: the demo city (buildings loaded, its first generation
// active) merged again as it is, then with --rebalance — which splits the
// grids above the size rule along the gaps between their buildings and
// joins those below it to a neighbour — both by 'gridd merge', the whole
// process. The plain merge is the floor: the rebalance is the difference.
func benchRebalance(ctx context.Context, e *env) error {
	dbURL, err := e.newDatabase(ctx, "bench_rebalance")
	if err != nil {
		return err
	}
	if _, err := timed(e.gridd, "demo", "--db", dbURL, "--register=false", "--people=false"); err != nil {
		return err
	}
	merge := func(extra ...string) (geo.MergeReport, time.Duration, error) {
		var rep geo.MergeReport
		start := time.Now()
		out, err := exec.CommandContext(ctx, e.gridd, append([]string{"merge", "--db", dbURL, "--json"}, extra...)...).Output()
		took := time.Since(start)
		if err != nil {
			return rep, took, fmt.Errorf("gridd merge %v: %w", extra, err)
		}
		return rep, took, json.Unmarshal(out, &rep)
	}
	plain, plainT, err := merge()
	if err != nil {
		return err
	}
	rb, rbT, err := merge("--rebalance")
	if err != nil {
		return err
	}
	s := rb.Sizes
	if s == nil || plain.Sizes == nil {
		return fmt.Errorf("the merges' reports have no size review")
	}
	grids := 0
	for _, b := range s.After {
		grids += b.Grids
	}
	fmt.Printf("rebalance of the demo (%d grids after; rules: grid %s, community %s households)\n", grids, s.Grid, s.Community)
	fmt.Printf("  %-34s %8.1f s  (%d grids over, %d under)\n", "gridd merge (no rebalance)", plainT.Seconds(), plain.Sizes.GridsOver, plain.Sizes.GridsUnder)
	fmt.Printf("  %-34s %8.1f s  (rebalance step %.1f s: %d split, %d joined; after %d over, %d under, %d unsolved)\n",
		"gridd merge --rebalance", rbT.Seconds(), rb.Timings["rebalance"], s.Split, s.Joined, s.GridsOver, s.GridsUnder, len(s.Unsolved))
	verdict := "met"
	if rbT > time.Minute {
		verdict = "NOT met"
	}
	fmt.Printf("  goal: rebalance of the demo < 60 s: %s\n", verdict)
	return nil
}
