package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gridd/gridd/geo"
)

// runDisputes lists a generation's disputed pieces between admin areas
// (插花地), or settles one: gridd disputes resolve ID confirm|reassign|transfer.
func runDisputes(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "resolve" {
		return runResolveDispute(ctx, args[1:], stdout)
	}
	fs := flag.NewFlagSet("disputes", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	gen := fs.Int("gen", 0, "generation (default: the active one)")
	level := fs.String("level", "", "district, street or community (default: all)")
	state := fs.String("state", "", "unresolved, open, confirmed, reassigned, transferred or transfer_pending (default: all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	ds, err := db.Disputes(ctx, geo.DisputeFilter{Generation: *gen, Level: *level, State: *state})
	if err != nil {
		return err
	}
	printDisputes(stdout, ds)
	return nil
}

func printDisputes(w io.Writer, ds []geo.Dispute) {
	fmt.Fprintln(w, "id\tlevel\tkind\tgiven_to\tareas\tm2\trule\tstate")
	for _, d := range ds {
		state := d.State
		if d.Decision != nil && d.Unresolved() {
			state += " (not in this generation: merge again)"
		}
		if d.State == geo.DisputeTransferPending {
			state += " from " + d.Decision.EffectiveOn
		}
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%.0f\t%s\t%s\n", d.ID, d.Level, d.Kind, d.GivenTo, strings.Join(d.Areas, ","), d.AreaM2, d.Rule, state)
	}
}

func runResolveDispute(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("disputes resolve", flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	to := fs.String("to", "", "reassign, transfer: the area that gets the piece (one of the dispute's areas)")
	eff := fs.String("effective", "", "transfer: the day the piece changes hands, YYYY-MM-DD")
	note := fs.String("note", "", "why (kept with the decision)")
	by := fs.String("by", "", "who decides (default: cli:USER, as in the audit log)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return geo.Errorf(geo.EINVALID, "usage: gridd disputes resolve [--to CODE] [--effective DATE] [--note TEXT] ID confirm|reassign|transfer")
	}
	id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return geo.Errorf(geo.EINVALID, "%q is not a dispute number: 'gridd disputes' lists them", fs.Arg(0))
	}
	if *by == "" {
		*by = cliActor().ActorName
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	d, err := db.ResolveDispute(ctx, id, geo.DisputeResolution{Action: fs.Arg(1), To: *to, EffectiveOn: *eff, Note: *note}, *by)
	if err != nil {
		return err
	}
	printDisputes(stdout, []geo.Dispute{d})
	return nil
}
