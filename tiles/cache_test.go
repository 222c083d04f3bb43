package tiles

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func key(z, x, y int) Key { return Key{Source: "g1", Layer: "grids", Z: z, X: x, Y: y} }

func body(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%7)
	}
	return b
}

func TestKeyString(t *testing.T) {
	for _, tt := range []struct {
		k    Key
		want string
	}{
		{Key{"g1", "grids", 3, 4, 5, ""}, "g1/grids/3/4/5"},
		{Key{"g12", "labels", 0, 0, 0, "gcj02"}, "g12/labels/0/0/0@gcj02"},
		{Key{"d7", "dept_zongzhi", 14, 13724, 6769, ""}, "d7/dept_zongzhi/14/13724/6769"},
	} {
		if got := tt.k.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.k, got, tt.want)
		}
	}
}

func TestHitMissAndOrigin(t *testing.T) {
	c := New(Config{MaxBytes: 1 << 20})
	loads := 0
	load := func(context.Context) ([]byte, error) { loads++; return body(1000, 1), nil }
	ctx := context.Background()
	t1, o1, err := c.Get(ctx, key(1, 0, 0), load)
	if err != nil || o1 != Loaded {
		t.Fatalf("first get: %v %v", o1, err)
	}
	t2, o2, err := c.Get(ctx, key(1, 0, 0), load)
	if err != nil || o2 != FromMemory || t2 != t1 || loads != 1 {
		t.Fatalf("second get: origin %v, same %v, loads %d, %v", o2, t2 == t1, loads, err)
	}
	raw, err := t1.Raw()
	if err != nil || !bytes.Equal(raw, body(1000, 1)) {
		t.Fatalf("gzip round trip: %v", err)
	}
	if len(t1.Gzip) >= 1000 || t1.Size != 1000 {
		t.Errorf("gzip %d bytes of %d", len(t1.Gzip), t1.Size)
	}
	// Another generation is another key: a miss, not a stale hit.
	if _, o, _ := c.Get(ctx, Key{Source: "g2", Layer: "grids", Z: 1}, load); o != Loaded || loads != 2 {
		t.Errorf("new generation: origin %v, loads %d", o, loads)
	}
	s := c.Stats()
	if s.Hits != 1 || s.Misses != 2 || s.Loads != 2 || s.Entries != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestETag(t *testing.T) {
	a, _ := NewTile(body(500, 1))
	b, _ := NewTile(body(500, 1))
	c, _ := NewTile(body(500, 2))
	if a.ETag != b.ETag || a.ETag == c.ETag || len(a.ETag) < 10 || a.ETag[0] != '"' || a.ETag[len(a.ETag)-1] != '"' {
		t.Errorf("etags %s %s %s", a.ETag, b.ETag, c.ETag)
	}
}

func TestEmptyTilesAreCached(t *testing.T) {
	c := New(Config{MaxBytes: 1 << 20})
	loads := 0
	load := func(context.Context) ([]byte, error) { loads++; return nil, nil }
	for i := 0; i < 3; i++ {
		tile, _, err := c.Get(context.Background(), key(5, 1, 1), load)
		if err != nil || !tile.Empty() || tile.ETag != "" {
			t.Fatalf("empty tile: %+v %v", tile, err)
		}
	}
	if loads != 1 {
		t.Errorf("empty tile loaded %d times", loads)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	c := New(Config{MaxBytes: 1 << 20})
	fail := errors.New("database down")
	calls := 0
	load := func(context.Context) ([]byte, error) {
		calls++
		if calls == 1 {
			return nil, fail
		}
		return body(10, 3), nil
	}
	if _, _, err := c.Get(context.Background(), key(2, 1, 1), load); !errors.Is(err, fail) {
		t.Fatalf("err %v", err)
	}
	if tile, _, err := c.Get(context.Background(), key(2, 1, 1), load); err != nil || tile.Empty() {
		t.Fatalf("retry: %v", err)
	}
}

func TestLRUByteBudget(t *testing.T) {
	// Random bodies hardly compress: each costs about its size.
	c := New(Config{MaxBytes: 10_000})
	rnd := func(seed int) []byte {
		b := make([]byte, 2000)
		x := uint32(seed*2654435761 + 1)
		for i := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[i] = byte(x)
		}
		return b
	}
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		c.Get(ctx, key(10, i, 0), func(context.Context) ([]byte, error) { return rnd(i), nil })
	}
	c.Get(ctx, key(10, 0, 0), nil) // touch 0: now most recent
	for i := 4; i < 6; i++ {
		c.Get(ctx, key(10, i, 0), func(context.Context) ([]byte, error) { return rnd(i), nil })
	}
	s := c.Stats()
	if s.Bytes > 10_000 || s.Evictions == 0 {
		t.Fatalf("stats %+v", s)
	}
	if _, ok := c.lookup(key(10, 0, 0)); !ok {
		t.Error("the recently used tile was evicted")
	}
	if _, ok := c.lookup(key(10, 1, 0)); ok {
		t.Error("the least recently used tile was kept")
	}
	// A tile over the whole budget is served but not kept.
	big := New(Config{MaxBytes: 100})
	tile, _, err := big.Get(ctx, key(1, 1, 1), func(context.Context) ([]byte, error) { return rnd(9), nil })
	if err != nil || tile.Empty() || big.Stats().Entries != 0 {
		t.Errorf("oversized tile: %v, %+v", err, big.Stats())
	}
}

func TestConcurrentMissesLoadOnce(t *testing.T) {
	c := New(Config{MaxBytes: 1 << 20})
	var loads atomic.Int32
	release := make(chan struct{})
	load := func(context.Context) ([]byte, error) {
		loads.Add(1)
		<-release
		return body(100, 4), nil
	}
	var wg sync.WaitGroup
	tiles := make([]*Tile, 20)
	for i := range tiles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tiles[i], _, _ = c.Get(context.Background(), key(12, 5, 5), load)
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	if loads.Load() != 1 {
		t.Errorf("%d loads for one tile", loads.Load())
	}
	for _, tile := range tiles {
		if tile != tiles[0] {
			t.Fatal("callers got different tiles")
		}
	}
}

func TestDiskCache(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a := New(Config{MaxBytes: 1 << 20, Dir: dir})
	ta, _, err := a.Get(ctx, key(8, 2, 3), func(context.Context) ([]byte, error) { return body(3000, 5), nil })
	if err != nil {
		t.Fatal(err)
	}
	a.Get(ctx, key(8, 2, 4), func(context.Context) ([]byte, error) { return nil, nil })
	if _, err := os.Stat(filepath.Join(dir, "g1", "grids", "8", "2", "3.mvt.gz")); err != nil {
		t.Fatalf("no disk file: %v", err)
	}
	// A new cache (a restarted server) reads both from disk, loads nothing.
	b := New(Config{MaxBytes: 1 << 20, Dir: dir})
	noLoad := func(context.Context) ([]byte, error) { return nil, fmt.Errorf("loaded") }
	tb, o, err := b.Get(ctx, key(8, 2, 3), noLoad)
	if err != nil || o != FromDisk || tb.ETag != ta.ETag || tb.Size != ta.Size {
		t.Fatalf("from disk: %v %v %+v", o, err, tb)
	}
	if te, o, err := b.Get(ctx, key(8, 2, 4), noLoad); err != nil || o != FromDisk || !te.Empty() {
		t.Fatalf("empty from disk: %v %v", o, err)
	}
	// Key parts that could leave the directory are never written.
	c := New(Config{MaxBytes: 1 << 20, Dir: dir})
	c.Get(ctx, Key{Source: "../x", Layer: "grids"}, func(context.Context) ([]byte, error) { return body(5, 1), nil })
	if _, err := os.Stat(filepath.Join(dir, "..", "x")); err == nil {
		t.Error("wrote outside the cache directory")
	}
}

func TestCover(t *testing.T) {
	// Yinzhou, Ningbo.
	tiles, err := Cover(121.37, 29.62, 121.90, 29.92, 0, 10, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if tiles[0] != (TileXYZ{0, 0, 0}) {
		t.Errorf("first tile %v", tiles[0])
	}
	n10 := 0
	for _, tl := range tiles {
		if tl.Z == 10 {
			n10++
			if tl.X < 857 || tl.X > 859 || tl.Y < 421 || tl.Y > 424 {
				t.Errorf("z10 tile %v outside Yinzhou", tl)
			}
		}
	}
	if n10 == 0 || n10 > 12 {
		t.Errorf("%d tiles at z10", n10)
	}
	if _, err := Cover(-180, -85, 180, 85, 0, 10, 1000); !errors.Is(err, ErrTooMany) {
		t.Errorf("the world to z10: %v", err)
	}
}
