package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/importers"
)

// registerKeyFlags find the register key: $GRIDD_REGISTER_KEY (the key
// itself), else the file --register-key, else register.key in the data
// directory. The key never goes into the database; lose it and the
// register is unreadable, so a new one is made only for a first load.
type registerKeyFlags struct {
	file string
	key  string // the key itself, from $GRIDD_REGISTER_KEY
}

func (k *registerKeyFlags) register(fs *flag.FlagSet) {
	k.key = os.Getenv("GRIDD_REGISTER_KEY")
	fs.StringVar(&k.file, "register-key", envOr("GRIDD_REGISTER_KEY_FILE", ""), "file holding the register's key (base64, 32 bytes; $GRIDD_REGISTER_KEY_FILE; default: register.key in --data; $GRIDD_REGISTER_KEY gives the key itself)")
}

// path is the key file's path for a data directory.
func (k *registerKeyFlags) path(dataDir string) string {
	if k.file != "" {
		return k.file
	}
	return filepath.Join(dataDir, "register.key")
}

// load reads the key; with create, a missing key file is made (mode
// 0600) and said so on w. Without create, no key is (nil, nil): the
// server then lists the register masked and refuses reveals and exports.
func (k *registerKeyFlags) load(dataDir string, create bool, w io.Writer) (*geo.RegisterKey, error) {
	if k.key != "" {
		key, err := geo.ParseRegisterKey(k.key)
		if err != nil {
			return nil, geo.Errorf(geo.EINVALID, "$GRIDD_REGISTER_KEY: %s", geo.ErrorMessage(err))
		}
		return key, nil
	}
	p := k.path(dataDir)
	b, err := os.ReadFile(p)
	switch {
	case err == nil:
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			return nil, geo.Errorf(geo.EINVALID, "the register key %s can be read by others (mode %v): chmod 600 %s", p, st.Mode().Perm(), p)
		}
		key, err := geo.ParseRegisterKey(string(b))
		if err != nil {
			return nil, geo.Errorf(geo.EINVALID, "%s: %s", p, geo.ErrorMessage(err))
		}
		return key, nil
	case !errors.Is(err, fs.ErrNotExist):
		return nil, geo.WrapError(geo.EINVALID, err, "read the register key %s", p)
	case !create:
		return nil, nil
	}
	text, err := geo.NewRegisterKey()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "make the directory of the register key %s", p)
	}
	if err := os.WriteFile(p, []byte(text+"\n"), 0o600); err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "write the register key %s", p)
	}
	fmt.Fprintf(w, "made a new register key in %s: back it up apart from the database — without it the register cannot be read\n", p)
	return geo.ParseRegisterKey(text)
}

// runRegister runs 'gridd register load|status|key'.
func runRegister(ctx context.Context, args []string, stdout io.Writer) error {
	usage := geo.Errorf(geo.EINVALID, "use 'gridd register load [--tags 独居老人,残疾人,…] [--encoding gbk] FILE.csv|FILE.xlsx', 'gridd register status' or 'gridd register key'")
	if len(args) == 0 {
		return usage
	}
	switch args[0] {
	case "key":
		text, err := geo.NewRegisterKey()
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, text)
		return nil
	case "load", "status":
	default:
		return usage
	}
	fs := flag.NewFlagSet("register "+args[0], flag.ContinueOnError)
	var dbf dbFlags
	dbf.register(fs)
	var kf registerKeyFlags
	kf.register(fs)
	tags := fs.String("tags", "", "the tag catalogue, comma-separated, or a file with one tag per line (default: "+strings.Join(geo.DefaultResidentTags(), ",")+")")
	encoding := fs.String("encoding", "", "the CSV's text encoding (default: detected; UTF-8 or GBK)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if args[0] == "status" {
		if fs.NArg() != 0 {
			return usage
		}
		db, err := dbf.open(ctx)
		if err != nil {
			return err
		}
		defer db.Close()
		st, err := db.RegisterStatus(ctx)
		if err != nil {
			return err
		}
		if !st.Loaded {
			fmt.Fprintln(stdout, "no register loaded (gridd register load FILE)")
			return nil
		}
		fmt.Fprintf(stdout, "register version %d (%s, %s): %d households, %d residents; tags %s\n", st.Version, st.FileName,
			st.LoadedAt.Format(time.DateTime), st.Households, st.Residents, strings.Join(st.Catalogue, "、"))
		return nil
	}
	if fs.NArg() != 1 {
		return usage
	}
	path := fs.Arg(0)
	catalogue, err := tagCatalogue(*tags)
	if err != nil {
		return err
	}
	hash, err := fileHash(path)
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot read %s", path)
	}
	t, err := importers.OpenTable(path, *encoding)
	if err != nil {
		return err
	}
	defer t.Close()
	name := filepath.Base(path)
	src, err := importers.NewRegisterReader(t, name, importers.RegisterOptions{Tags: catalogue, Today: time.Now()})
	if err != nil {
		return err
	}
	db, err := dbf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	key, err := kf.load(dbf.dataDir, true, stdout)
	if err != nil {
		return err
	}
	audit := cliActor()
	rep, err := db.LoadRegister(ctx, key, geo.RegisterMeta{FileName: name, FileHash: hash + ":" + strings.Join(catalogue, ","), Tags: catalogue, By: audit.ActorName}, src, &audit)
	if err != nil {
		for i, e := range rep.Errors {
			if i == 0 {
				fmt.Fprintf(stdout, "%s: %d rows with errors; nothing loaded:\n", name, rep.ErrorCount)
			}
			fmt.Fprintf(stdout, "  %s\n", e)
		}
		if rep.ErrorCount > len(rep.Errors) {
			fmt.Fprintf(stdout, "  … %d more\n", rep.ErrorCount-len(rep.Errors))
		}
		return err
	}
	if rep.Unchanged {
		fmt.Fprintf(stdout, "%s is identical to version %d of the register: nothing loaded\n", path, rep.Version)
		return nil
	}
	fmt.Fprintf(stdout, "loaded %s (%s%s) as version %d of the register: %d households, %d residents; households %d added, %d removed, %d changed, %d the same; %.1fs\n",
		path, t.Format, prefixed(" ", t.Encoding), rep.Version, rep.Households, rep.Residents, rep.Added, rep.Removed, rep.Changed, rep.Same, rep.Seconds)
	if len(rep.Tags) > 0 {
		var parts []string
		for _, tag := range catalogue {
			if n := rep.Tags[tag]; n > 0 {
				parts = append(parts, fmt.Sprintf("%s %d", tag, n))
			}
		}
		fmt.Fprintf(stdout, "  tags: %s\n", strings.Join(parts, ", "))
	}
	return nil
}

func prefixed(p, s string) string {
	if s == "" {
		return ""
	}
	return p + s
}

// tagCatalogue reads --tags: a comma-separated list or a file of lines.
func tagCatalogue(s string) ([]string, error) {
	if s == "" {
		return geo.DefaultResidentTags(), nil
	}
	if b, err := os.ReadFile(s); err == nil {
		s = strings.ReplaceAll(string(b), "\n", ",")
	}
	var out []string
	for _, t := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '，' || r == '\r' }) {
		if t = strings.TrimSpace(t); t != "" && !strings.ContainsAny(t, ";；、|/ ") {
			out = append(out, t)
		} else if t != "" {
			return nil, geo.Errorf(geo.EINVALID, "tag %q: a tag has no spaces or separators (; 、 | /)", t)
		}
	}
	if len(out) == 0 {
		return nil, geo.Errorf(geo.EINVALID, "--tags names no tag")
	}
	return out, nil
}
