// Package tiles keeps vector tiles ready to serve: an in-memory LRU cache
// with a byte budget, gzip-compressed bodies stored once with their
// strong ETag, an optional disk cache, and one load per tile however many
// requests miss it at once. It knows nothing of the database: callers give
// a load function. Keys carry the generation (or layer version) a tile
// was cut from, so a new active generation invalidates by construction:
// its tiles have other keys, and the old ones age out of the LRU.
package tiles

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"
)

// Key names one tile of one version of a layer. Source says what the tile
// is cut from and must change whenever the content may: "g12" for
// generation 12, "d7" for departmental layer version 7. Variant holds
// anything else that changes the bytes (a datum), "" when none.
type Key struct {
	Source  string
	Layer   string
	Z, X, Y int
	Variant string
}

// String is the key as a path-like string, also its disk cache name.
func (k Key) String() string {
	b := make([]byte, 0, 64)
	b = append(b, k.Source...)
	b = append(b, '/')
	b = append(b, k.Layer...)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(k.Z), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(k.X), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(k.Y), 10)
	if k.Variant != "" {
		b = append(b, '@')
		b = append(b, k.Variant...)
	}
	return string(b)
}

// Tile is a cached tile: the gzip-compressed MVT and its ETag. An empty
// tile (nothing in it) has no body and no ETag.
type Tile struct {
	Gzip []byte // gzip of the MVT bytes
	ETag string // strong ETag of the MVT bytes, quoted
	Size int    // length of the uncompressed MVT
}

// Empty reports whether the tile has no features.
func (t *Tile) Empty() bool { return t.Size == 0 }

// Raw returns the uncompressed MVT, for clients that do not accept gzip.
func (t *Tile) Raw() ([]byte, error) {
	if t.Empty() {
		return nil, nil
	}
	return gunzip(t.Gzip, t.Size)
}

func gunzip(gz []byte, size int) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	if _, err := io.Copy(buf, zr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// NewTile compresses an MVT and computes its ETag: the first 128 bits of
// its SHA-256, so identical tiles have identical ETags whatever their key.
func NewTile(mvt []byte) (*Tile, error) {
	if len(mvt) == 0 {
		return &Tile{}, nil
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(mvt); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(mvt)
	return &Tile{Gzip: buf.Bytes(), ETag: `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`, Size: len(mvt)}, nil
}

// Config configures a Cache.
type Config struct {
	MaxBytes int64  // memory budget for cached tiles; 0: no memory cache
	Dir      string // disk cache directory; "": none
}

// Stats counts what the cache did.
type Stats struct {
	Hits, Misses, DiskHits, Loads, Evictions int64
	Bytes                                    int64
	Entries                                  int
}

// Cache is a concurrency-safe LRU of tiles within a byte budget, backed
// optionally by a disk directory.
type Cache struct {
	cfg    Config
	mu     sync.Mutex
	lru    *list.List // front: most recently used; values *entry
	items  map[Key]*list.Element
	bytes  int64
	flight singleflight.Group

	hits, misses, diskHits, loads, evictions atomic.Int64
}

type entry struct {
	key  Key
	tile *Tile
	cost int64
}

// entryOverhead approximates the memory of an entry besides its body, so
// that empty tiles count against the budget too.
const entryOverhead = 160

// New makes a cache.
func New(cfg Config) *Cache {
	return &Cache{cfg: cfg, lru: list.New(), items: map[Key]*list.Element{}}
}

// Loader cuts a tile; nil or empty bytes mean an empty tile.
type Loader func(ctx context.Context) ([]byte, error)

// Origin tells where Get found a tile.
type Origin string

// The origins of a tile.
const (
	FromMemory Origin = "memory" // a hit
	FromDisk   Origin = "disk"   // read from the disk cache
	Loaded     Origin = "loaded" // cut by the loader (for this caller or a concurrent one)
)

// Get returns the tile for k from memory, else from disk, else from load,
// which runs once for all concurrent callers of the same key, and where
// the tile came from. Errors are not cached.
func (c *Cache) Get(ctx context.Context, k Key, load Loader) (*Tile, Origin, error) {
	if t, ok := c.lookup(k); ok {
		c.hits.Add(1)
		return t, FromMemory, nil
	}
	c.misses.Add(1)
	origin := Loaded
	v, err, _ := c.flight.Do(k.String(), func() (any, error) {
		if t, ok := c.lookup(k); ok {
			return t, nil
		}
		if t, ok := c.readDisk(k); ok {
			c.diskHits.Add(1)
			c.add(k, t)
			origin = FromDisk
			return t, nil
		}
		c.loads.Add(1)
		mvt, err := load(ctx)
		if err != nil {
			return nil, err
		}
		t, err := NewTile(mvt)
		if err != nil {
			return nil, err
		}
		c.add(k, t)
		c.writeDisk(k, t)
		return t, nil
	})
	if err != nil {
		return nil, Loaded, err
	}
	return v.(*Tile), origin, nil
}

func (c *Cache) lookup(k Key) (*Tile, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	return el.Value.(*entry).tile, true
}

func (c *Cache) add(k Key, t *Tile) {
	cost := int64(len(t.Gzip)) + entryOverhead + int64(len(k.Source)+len(k.Layer)+len(k.Variant))
	if cost > c.cfg.MaxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		c.lru.MoveToFront(el)
		return
	}
	c.items[k] = c.lru.PushFront(&entry{key: k, tile: t, cost: cost})
	c.bytes += cost
	for c.bytes > c.cfg.MaxBytes {
		el := c.lru.Back()
		e := el.Value.(*entry)
		c.lru.Remove(el)
		delete(c.items, e.key)
		c.bytes -= e.cost
		c.evictions.Add(1)
	}
}

// Stats returns the counters and the memory in use.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	b, n := c.bytes, len(c.items)
	c.mu.Unlock()
	return Stats{Hits: c.hits.Load(), Misses: c.misses.Load(), DiskHits: c.diskHits.Load(), Loads: c.loads.Load(),
		Evictions: c.evictions.Load(), Bytes: b, Entries: n}
}

// Disk layout: DIR/SOURCE/LAYER/Z/X/Y[@VARIANT].mvt.gz, the gzip body as
// served; an empty tile is an empty file. The ETag is recomputed from the
// body on read. Keys never change meaning, so files never go stale; a
// generation's directory can be deleted whole once it is retired.

func (c *Cache) diskPath(k Key) (string, bool) {
	if c.cfg.Dir == "" || !safeName(k.Source) || !safeName(k.Layer) || !safeName(k.Variant) {
		return "", false
	}
	return filepath.Join(c.cfg.Dir, filepath.FromSlash(k.String())+".mvt.gz"), true
}

// safeName keeps key parts from escaping the cache directory.
func safeName(s string) bool {
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-' || ch == '/') {
			return false
		}
	}
	return !bytes.Contains([]byte(s), []byte("..")) && (len(s) == 0 || s[0] != '/')
}

func (c *Cache) readDisk(k Key) (*Tile, bool) {
	path, ok := c.diskPath(k)
	if !ok {
		return nil, false
	}
	gz, err := os.ReadFile(path)
	if err != nil {
		return nil, false
	}
	if len(gz) == 0 {
		return &Tile{}, true
	}
	t := &Tile{Gzip: gz}
	raw, err := gunzip(gz, 4*len(gz))
	if err != nil {
		return nil, false // a torn or foreign file: load afresh
	}
	sum := sha256.Sum256(raw)
	t.Size, t.ETag = len(raw), `"`+base64.RawURLEncoding.EncodeToString(sum[:16])+`"`
	return t, true
}

// writeDisk stores a tile atomically (write to a temporary file, rename);
// failures only cost a later reload, so they are not reported.
func (c *Cache) writeDisk(k Key, t *Tile) {
	path, ok := c.diskPath(k)
	if !ok {
		return
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := f.Write(t.Gzip)
	cerr := f.Close()
	if werr != nil || cerr != nil || os.Rename(f.Name(), path) != nil {
		os.Remove(f.Name())
	}
}

// ErrTooMany is returned by Cover when a range holds more tiles than asked.
var ErrTooMany = errors.New("too many tiles")

// TileXYZ is a tile address.
type TileXYZ struct{ Z, X, Y int }

// Cover lists the tiles of zooms minZoom..maxZoom that intersect the
// lon/lat box, lowest zoom first, at most max of them.
func Cover(minLon, minLat, maxLon, maxLat float64, minZoom, maxZoom, max int) ([]TileXYZ, error) {
	var out []TileXYZ
	for z := minZoom; z <= maxZoom; z++ {
		x0, y0 := lonLatToTile(minLon, maxLat, z)
		x1, y1 := lonLatToTile(maxLon, minLat, z)
		if len(out)+(x1-x0+1)*(y1-y0+1) > max {
			return out, fmt.Errorf("%w: zoom %d needs %d more", ErrTooMany, z, (x1-x0+1)*(y1-y0+1))
		}
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				out = append(out, TileXYZ{z, x, y})
			}
		}
	}
	return out, nil
}
