package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/postgis"
)

// cliActor is how command-line changes appear in the audit log: the
// operating-system user who ran them.
func cliActor() geo.AuditEntry {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	host, _ := os.Hostname()
	return geo.AuditEntry{ActorKind: "cli", ActorName: "cli:" + name, Remote: host}
}

// readPassword takes the first line of stdin (--password-stdin), or
// generates one to be printed once.
func readPassword(fromStdin bool) (pw string, generated bool, err error) {
	if !fromStdin {
		pw, err = postgis.RandomPassword()
		return pw, true, err
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", false, geo.WrapError(geo.EINVALID, err, "read the password from stdin")
	}
	return strings.TrimRight(line, "\r\n"), false, nil
}

func runUser(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return geo.Errorf(geo.EINVALID, "gridd user add|passwd|list: say what to do")
	}
	fs := flag.NewFlagSet("user "+args[0], flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	login := fs.String("login", "", "the account's login")
	name := fs.String("name", "", "display name")
	role := fs.String("role", "", "admin, gis, dispatcher, worker, viewer or reporter")
	scope := fs.String("scope", "", "area code the account is limited to (district, street, community or grid); '' for everything")
	person := fs.Int64("person", 0, "the person (GET /api/v1/people) a worker account acts as")
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of stdin (default: generate one and print it once)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "add", "passwd", "list":
	default:
		return geo.Errorf(geo.EINVALID, "gridd user %s: use add, passwd or list", args[0])
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "list":
		us, err := db.Users(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tLOGIN\tNAME\tROLE\tSCOPE\tPERSON\tDISABLED")
		for _, u := range us {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%v\n", u.ID, u.Login, u.Name, u.Role, u.Scope, u.PersonID, u.Disabled)
		}
		return tw.Flush()
	case "add":
		if *login == "" || *role == "" {
			return geo.Errorf(geo.EINVALID, "gridd user add needs --login and --role (and --scope CODE to limit it)")
		}
		pw, generated, err := readPassword(*pwStdin)
		if err != nil {
			return err
		}
		u, err := db.CreateUser(ctx, geo.User{Login: *login, Name: *name, Role: geo.AccessRole(*role), Scope: *scope, PersonID: *person}, pw, cliActor())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "account %d %s: role %s, scope %q\n", u.ID, u.Login, u.Role, u.Scope)
		if generated {
			fmt.Fprintf(stdout, "password (shown once): %s\n", pw)
		}
		return nil
	default: // passwd
		if *login == "" {
			return geo.Errorf(geo.EINVALID, "gridd user passwd needs --login")
		}
		pw, generated, err := readPassword(*pwStdin)
		if err != nil {
			return err
		}
		if err := db.SetPassword(ctx, *login, pw, cliActor()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "password of %s changed; its sessions ended\n", *login)
		if generated {
			fmt.Fprintf(stdout, "password (shown once): %s\n", pw)
		}
		return nil
	}
}

func runToken(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return geo.Errorf(geo.EINVALID, "gridd token create|revoke|list: say what to do")
	}
	fs := flag.NewFlagSet("token "+args[0], flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	name := fs.String("name", "", "who uses the token (an integration, a hotline)")
	role := fs.String("role", "", "admin, gis, dispatcher, worker, viewer or reporter")
	scope := fs.String("scope", "", "area code the token is limited to; '' for everything")
	person := fs.Int64("person", 0, "the person a worker token acts as")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	switch args[0] {
	case "create":
		if *name == "" || *role == "" {
			return geo.Errorf(geo.EINVALID, "gridd token create needs --name and --role (and --scope CODE to limit it)")
		}
	case "revoke":
		if fs.NArg() != 1 {
			return geo.Errorf(geo.EINVALID, "gridd token revoke ID: 'gridd token list' shows the ids")
		}
	case "list":
	default:
		return geo.Errorf(geo.EINVALID, "gridd token %s: use create, revoke or list", args[0])
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	switch args[0] {
	case "create":
		t, secret, err := db.CreateToken(ctx, geo.APIToken{Name: *name, Role: geo.AccessRole(*role), Scope: *scope, PersonID: *person}, cliActor())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %d %q: role %s, scope %q\n%s\n(shown once: store it now; only its hash is kept)\n", t.ID, t.Name, t.Role, t.Scope, secret)
		return nil
	case "revoke":
		id, err := strconv.ParseInt(fs.Arg(0), 10, 64)
		if err != nil {
			return geo.Errorf(geo.EINVALID, "%q is not a token id: 'gridd token list' shows them", fs.Arg(0))
		}
		if err := db.RevokeToken(ctx, id, cliActor()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token %d revoked\n", id)
		return nil
	default:
		ts, err := db.Tokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tSCOPE\tCREATED\tLAST USED\tREVOKED")
		for _, t := range ts {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Role, t.Scope, t.CreatedAt.Format("2006-01-02 15:04"), when(t.LastUsed), when(t.RevokedAt))
		}
		return tw.Flush()
	}
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02 15:04")
}

// ensureFirstAdmin creates the account admin with a one-time password
// when there is no account at all, and prints the password (only then).
func ensureFirstAdmin(ctx context.Context, db *postgis.DB, stdout io.Writer) error {
	n, err := db.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	pw, err := postgis.RandomPassword()
	if err != nil {
		return err
	}
	created, err := db.CreateFirstAdmin(ctx, pw)
	if err != nil || !created {
		return err
	}
	fmt.Fprintf(stdout, "no account yet: created admin with the one-time password %s\n(shown once; change it with 'gridd user passwd --login admin')\n", pw)
	return nil
}
