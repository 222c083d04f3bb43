package main

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

var _ = func() bool {
	extraBenchmarks = append(extraBenchmarks, benchmark{"register", benchRegister})
	return true
}()

// benchRegister: a register of 1,000,000 residents (synthetic, in the
// demo city's buildings) as CSV, loaded by 'gridd register load' (read,
// check every row, seal the personal data, COPY, compare, apply) next to
// psql's \copy of the same file into a plain table (no checks, no
// sealing: the floor of getting the bytes in); then the masked listing of
// a grid's households over HTTP, p50/p95 over 300 grids.
func benchRegister(ctx context.Context, e *env) error {
	n := 1000000
	if s := os.Getenv("GRIDD_BENCH_RESIDENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dbURL, err := e.newDatabase(ctx, "bench_register")
	if err != nil {
		return err
	}
	if _, err := timed(e.gridd, "demo", "--db", dbURL, "--register=false", "--people=false"); err != nil {
		return err
	}
	key := make([]byte, 32)
	crand.Read(key)
	os.Setenv("GRIDD_REGISTER_KEY", base64.StdEncoding.EncodeToString(key)) // for the gridd commands below
	path := filepath.Join(e.work, "register.csv")
	households, err := writeRegister(ctx, dbURL, path, n)
	if err != nil {
		return err
	}
	griddT, err := timed(e.gridd, "register", "load", "--db", dbURL, path)
	if err != nil {
		return err
	}
	psql, err := findPsql()
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE TABLE psql_register (household text, building text, unit text, room text, name text, id_number text, phone text, tags text)`); err != nil {
		return err
	}
	psqlT, err := timed(psql, dbURL, "-v", "ON_ERROR_STOP=1", "-c", `\copy psql_register FROM '`+path+`' CSV HEADER`)
	if err != nil {
		return err
	}
	fmt.Printf("%-58s %10s\n", fmt.Sprintf("register of %d residents in %d households (CSV)", n, households), "seconds")
	fmt.Printf("%-58s %10.2f\n", "gridd register load (check, seal, COPY, compare, apply)", griddT.Seconds())
	fmt.Printf("%-58s %10.2f\n", `psql \copy into a plain table (no checks, nothing sealed)`, psqlT.Seconds())
	fmt.Printf("%-58s %10.2f×  (gridd time / psql time)\n", "ratio", griddT.Seconds()/psqlT.Seconds())
	return benchHouseholdListing(ctx, e, dbURL, conn)
}

// benchHouseholdListing times GET /api/v1/households?area=GRID (masked,
// a whole grid's page of up to 500) over HTTP for 300 grids at random.
func benchHouseholdListing(ctx context.Context, e *env, dbURL string, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT bg.grid_code, count(*) FROM households h JOIN building_grid bg ON bg.building_id = h.building_id
		WHERE bg.generation = (SELECT id FROM generations WHERE state = 'active') AND bg.grid_code IS NOT NULL GROUP BY 1`)
	if err != nil {
		return err
	}
	var grids []string
	total := 0
	for rows.Next() {
		var g string
		var c int
		if err := rows.Scan(&g, &c); err != nil {
			return err
		}
		grids, total = append(grids, g), total+c
	}
	if rows.Err() != nil || len(grids) == 0 {
		return fmt.Errorf("no grid has households: %v", rows.Err())
	}
	out, err := exec.Command(e.gridd, "token", "create", "--db", dbURL, "--name", "bench-viewer", "--role", "viewer").CombinedOutput()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if err != nil || len(lines) < 2 {
		return fmt.Errorf("gridd token create: %v: %s", err, out)
	}
	token := strings.TrimSpace(lines[1])
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := l.Addr().String()
	l.Close()
	srv := exec.Command(e.gridd, "serve", "--db", dbURL, "--addr", addr, "--rate-limit", "0")
	srv.Stdout, srv.Stderr = io.Discard, io.Discard
	if err := srv.Start(); err != nil {
		return err
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		srv.Wait()
	}()
	base := "http://" + addr
	client := &http.Client{Timeout: 10 * time.Second}
	for i := 0; ; i++ {
		if resp, err := client.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			return fmt.Errorf("gridd serve did not come up on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	get := func(grid string) (time.Duration, error) {
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/households?limit=500&area="+grid, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("GET households of %s: %d %s", grid, resp.StatusCode, body)
		}
		return time.Since(start), nil
	}
	for _, g := range grids[:min(20, len(grids))] { // warm the connections and the caches a running server has
		if _, err := get(g); err != nil {
			return err
		}
	}
	r := rand.New(rand.NewPCG(13, 0))
	var ds []time.Duration
	for range 300 {
		d, err := get(grids[r.IntN(len(grids))])
		if err != nil {
			return err
		}
		ds = append(ds, d)
	}
	fmt.Printf("%-58s %s / %s  (p50 / p95; %d grids, %.0f households each on average)\n", "masked listing of a grid's households over HTTP",
		ms(pct(ds, 50)), ms(pct(ds, 95)), len(grids), float64(total)/float64(len(grids)))
	return nil
}

// writeRegister writes a register of n residents in the buildings of the
// database's city, as many households per building as it says and one to
// four members per household, with valid ID numbers (GB 11643), phones and
// tags at plausible rates; it returns the number of households.
func writeRegister(ctx context.Context, dbURL, path string, n int) (int, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var district string
	if err := conn.QueryRow(ctx, `SELECT code FROM areas WHERE level = 'district' LIMIT 1`).Scan(&district); err != nil {
		return 0, err
	}
	rows, err := conn.Query(ctx, `SELECT id, greatest(households, 1) FROM buildings ORDER BY id`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("户号,楼栋编号,单元,房号,姓名,身份证号,联系电话,标签\n")
	surnames, given := []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗"), []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华")
	born := time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC)
	people, hh := 0, 0
	for rows.Next() && people < n {
		var id string
		var households int
		if err := rows.Scan(&id, &households); err != nil {
			return 0, err
		}
		for k := 0; k < households && people < n; k++ {
			hh++
			tag := ""
			switch {
			case hh%37 == 0:
				tag = "独居老人"
			case hh%53 == 0:
				tag = "低保户"
			}
			members := 1 + (hh*7)%4
			for m := 0; m < members && people < n; m++ {
				people++
				first17 := fmt.Sprintf("%s%s%03d", district, born.AddDate(0, 0, people/1000).Format("20060102"), people%1000)
				name := string([]rune{surnames[people%len(surnames)], given[(people/7)%len(given)], given[(people/3)%len(given)]})
				t := ""
				if m == 0 {
					t = tag
				}
				fmt.Fprintf(w, "H%s-%d,%s,%d,%d%02d,%s,%s%c,139%08d,%s\n", id, k, id, 1+k/50, 1+k%50/2, 1+k%2, name, first17, geo.IDCheckChar(first17), people, t)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	if people < n {
		return 0, fmt.Errorf("the buildings hold room for %d residents only, fewer than %d", people, n)
	}
	return hh, w.Flush()
}

// findPsql finds Debian's psql: on PATH, or with the server's binaries.
func findPsql() (string, error) {
	if p, err := exec.LookPath("psql"); err == nil {
		return p, nil
	}
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/psql")
	if len(m) == 0 {
		return "", fmt.Errorf("no psql: install postgresql-client (make test-deps does)")
	}
	return m[len(m)-1], nil
}
