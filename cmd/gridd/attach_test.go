package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gridd/gridd/internal/pgtest"
)

// attachArgsEnv makes the test binary run one gridd command (as a process
// of its own) instead of the tests: see griddProcess.
const attachArgsEnv = "GRIDD_TEST_PROCESS_ARGS"

// TestGriddProcess is not a test: it is the gridd command run by
// griddProcess, in a process of its own, when attachArgsEnv is set.
func TestGriddProcess(t *testing.T) {
	raw := os.Getenv(attachArgsEnv)
	if raw == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(raw), &args); err != nil {
		fmt.Fprintln(os.Stderr, "gridd:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, args, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "gridd:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// griddProcess returns the command that runs gridd with args as a process
// of its own (the test binary running TestGriddProcess).
func griddProcess(args ...string) *exec.Cmd {
	b, _ := json.Marshal(args)
	cmd := exec.Command(os.Args[0], "-test.run=^TestGriddProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), attachArgsEnv+"="+string(b))
	return cmd
}

// griddRun runs gridd in a process of its own and returns its output.
func griddRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := griddProcess(args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%v: %s", err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

func mustGriddRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := griddRun(t, args...)
	if err != nil {
		t.Fatalf("gridd %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// serveProcess starts 'gridd serve' on the embedded database in dataDir as
// a process of its own, and returns its base URL and development token;
// the server is interrupted when the test ends and must exit cleanly.
func serveProcess(t *testing.T, dataDir string) (base, devToken string) {
	t.Helper()
	addr := freeAddr(t)
	devToken = rand.Text()
	var errOut bytes.Buffer
	cmd := griddProcess("serve", "--data", dataDir, "--addr", addr, "--dev-token", devToken)
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		if err := <-done; err != nil {
			t.Errorf("serve: %v: %s", err, errOut.String())
		}
	})
	base = "http://" + addr
	for i := 0; i < 1200; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			return base, devToken
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("serve exited: %v: %s", err, errOut.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("server did not come up")
	return "", ""
}

// TestCLIBesideServe runs the CLI's commands on the data directory of a
// running 'gridd serve': they attach to its PostgreSQL instead of refusing,
// leave it running, and the server sees at once what they did (a new
// token, a new active generation through LISTEN/NOTIFY); a second serve on
// the same directory is refused with one line.
func TestCLIBesideServe(t *testing.T) {
	dir, err := pgtest.MkdirShared("gridd-attach-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	// The demo city, loaded by a command that starts (and stops) the
	// embedded server itself.
	mustGriddRun(t, "demo", "--data", dir, "--register=false")

	base, devToken := serveProcess(t, dir)
	devAuth.set(strings.TrimPrefix(base, "http://"), devToken)

	out := mustGriddRun(t, "token", "create", "--data", dir, "--name", "attached", "--role", "admin")
	secret := regexp.MustCompile(`(?m)^gridd_\S+`).FindString(out)
	if secret == "" {
		t.Fatalf("token create printed %q", out)
	}
	out = mustGriddRun(t, "import", "--data", dir, "--level", "grid", "--dept", "zongzhi", "testdata/three-grids.geojson")
	if !strings.Contains(out, "imported") {
		t.Errorf("import said %q", out)
	}
	out = mustGriddRun(t, "merge", "--data", dir, "--note", "from the CLI")
	m := regexp.MustCompile(`generation (\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("merge said %q", out)
	}
	mustGriddRun(t, "activate", "--data", dir, m[1])

	// The new token works at once, and the server reports the generation
	// activated from the CLI as the active one.
	req, _ := http.NewRequest("GET", base+"/api/v1/generations", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var gens struct {
		Generations []struct {
			ID    int    `json:"id"`
			State string `json:"state"`
		} `json:"generations"`
	}
	err = json.NewDecoder(resp.Body).Decode(&gens)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET /api/v1/generations with the CLI's token: %d %v", resp.StatusCode, err)
	}
	active := 0
	for _, g := range gens.Generations {
		if g.State == "active" {
			active = g.ID
		}
	}
	if fmt.Sprint(active) != m[1] {
		t.Errorf("the server's active generation is %d, the CLI activated %s", active, m[1])
	}
	// The server's own caches follow the activation (LISTEN/NOTIFY): the
	// point locator answers from the new generation.
	var loc struct {
		Generation int `json:"generation"`
	}
	for i := 0; i < 100 && fmt.Sprint(loc.Generation) != m[1]; i++ {
		getJSON(t, base+"/api/v1/locate?lon=121.505&lat=29.805", http.StatusOK, &loc)
		time.Sleep(50 * time.Millisecond)
	}
	if fmt.Sprint(loc.Generation) != m[1] {
		t.Errorf("locate answers from generation %d after the CLI activated %s", loc.Generation, m[1])
	}

	// A second serve on the same data directory is refused.
	_, err = griddRun(t, "serve", "--data", dir, "--addr", freeAddr(t))
	if err == nil || !strings.Contains(err.Error(), "another gridd serve") || strings.Count(strings.TrimSpace(err.Error()), "\n") > 0 {
		t.Errorf("second serve: %v, want one line saying another gridd serve has the data directory", err)
	}
	// The server still answers after all those commands ended.
	var health map[string]any
	getJSON(t, base+"/healthz", http.StatusOK, &health)
}
