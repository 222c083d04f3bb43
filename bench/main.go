// Command bench measures gridd against the tools its users would otherwise
// reach for, side by side in one run, on this machine. It is run by
// 'make bench' under 'gridd with-db', which provides a throwaway PostGIS
// in GRIDD_TEST_DATABASE_URL (an admin URL: each benchmark makes its own
// database). Figures go to stdout as a table; docs/benchmarks.md keeps the
// latest ones.
//
// Usage: go run ./bench [name ...]   (default: all)
package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// benchmark is one named measurement.
type benchmark struct {
	name string
	run  func(ctx context.Context, env *env) error
}

// benchmarks lists every benchmark; files of this package add theirs in
// init-free fashion by appending to this list.
func benchmarks() []benchmark {
	all := []benchmark{
		{"import", benchImport},
		{"merge", benchMerge},
	}
	all = append(all, extraBenchmarks...)
	return all
}

// extraBenchmarks are defined by other files of this package.
var extraBenchmarks []benchmark

// env is what every benchmark gets.
type env struct {
	adminURL string
	gridd    string // path of the gridd binary
	work     string // scratch directory
}

// newDatabase creates an empty database and returns its URL.
func (e *env) newDatabase(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, e.adminURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{name}.Sanitize()+` WITH (FORCE)`)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	u, _ := url.Parse(e.adminURL)
	u.Path = "/" + name
	return u.String(), nil
}

// timed runs a command and returns its wall time.
func timed(name string, args ...string) (time.Duration, error) {
	start := time.Now()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, lastLines(string(out), 5))
	}
	return time.Since(start), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

func main() {
	ctx := context.Background()
	admin := os.Getenv("GRIDD_TEST_DATABASE_URL")
	if admin == "" {
		fmt.Fprintln(os.Stderr, "bench: GRIDD_TEST_DATABASE_URL is not set: run 'make bench'")
		os.Exit(2)
	}
	work, err := os.MkdirTemp("", "gridd-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer os.RemoveAll(work)
	e := &env{adminURL: admin, gridd: "bin/gridd", work: work}
	want := map[string]bool{}
	for _, a := range os.Args[1:] {
		want[a] = true
	}
	all := benchmarks()
	sort.SliceStable(all, func(i, j int) bool { return false })
	failed := false
	fmt.Printf("gridd benchmarks, %s, %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), machine())
	for _, b := range all {
		if len(want) > 0 && !want[b.name] {
			continue
		}
		fmt.Printf("\n== %s\n", b.name)
		if err := b.run(ctx, e); err != nil {
			fmt.Printf("%s failed: %v\n", b.name, err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// machine describes where the figures were measured.
func machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	n := 0
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		n = strings.Count(string(b), "processor\t:")
	}
	return fmt.Sprintf("%d × %s", n, cpu)
}

// pgDSN turns a postgres:// URL into the key=value form GDAL's PG driver
// reads (it takes its own options from a URL's query).
func pgDSN(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	pw, _ := u.User.Password()
	return fmt.Sprintf("host=%s port=%s dbname=%s user=%s password=%s", u.Hostname(), u.Port(), strings.TrimPrefix(u.Path, "/"), u.User.Username(), pw)
}
