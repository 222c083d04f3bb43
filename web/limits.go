package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gridd/gridd/geo"
	"golang.org/x/time/rate"
)

// Defaults of the limits that keep one caller from taking the server
// from the others (serve's --rate-limit, --rate-burst, --request-timeout).
const (
	DefaultRateLimit      = 100 // requests per second per token, session or anonymous address
	DefaultRateBurst      = 400 // a map view loads dozens of tiles per layer at once
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxInFlight    = 256 // requests being served at once, streams and transfers aside
)

// untimed are the routes that may outlive the request timeout: streams
// that never end on their own, and transfers whose length is the size of
// the data (uploads are bounded by --max-upload-mb instead).
var untimed = map[string]bool{
	"GET /api/v1/events":                   true,
	"POST /api/v1/layers":                  true,
	"GET /api/v1/generations/{gen}/export": true,
	// A merge (a rebalance most of all), a city's topology check and an
	// activation take longer than a request should, and stopping them
	// half-way would only roll them back.
	"POST /api/v1/merges":                     true,
	"GET /api/v1/generations/{gen}/check":     true,
	"POST /api/v1/generations/{gen}/activate": true,
}

// deadline gives every request but the untimed ones a context that ends
// after the request timeout, so a stuck database or a slow query answers
// 503 instead of holding the caller and a connection forever.
func (s *Server) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.RequestTimeout <= 0 || untimed[policyKey(r)] {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// errShed marks the 503s of load shedding, which are not logged: under
// overload a log line per turned-away request would only add to it.
var errShed = errors.New("")

// shed answers 503 at once when MaxInFlight requests are being served
// already. Past its capacity a server that queues everything answers
// everything late, and callers time out on work it still does; one that
// turns the excess away keeps serving at capacity, and the callers that
// were turned away retry after Retry-After. Streams, transfers and
// /healthz are not counted.
func (s *Server) shed(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := policyKey(r)
		if s.inflight == nil || untimed[key] || strings.HasSuffix(key, " /healthz") {
			next.ServeHTTP(w, r)
			return
		}
		select {
		case s.inflight <- struct{}{}:
			defer func() { <-s.inflight }()
			next.ServeHTTP(w, r)
		default:
			w.Header().Set("Retry-After", "1")
			writeError(w, r, fmt.Errorf("%w%w", errShed,
				geo.Errorf(geo.EUNAVAILABLE, "gridd is serving %d requests already (--max-inflight): retry in a second", cap(s.inflight))))
		}
	})
}

// limiter keeps one token bucket per caller: an API token, a console
// session, or the address of a caller without credentials.
type limiter struct {
	every rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

// maxBuckets bounds the limiter's memory: beyond it, buckets idle long
// enough to be full again are dropped (they would allow a full burst
// anyway).
const maxBuckets = 50_000

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond <= 0 {
		return nil
	}
	if burst < 1 {
		burst = max(1, int(math.Ceil(perSecond)))
	}
	return &limiter{every: rate.Limit(perSecond), burst: burst, m: map[string]*bucket{}}
}

// allow takes one token from key's bucket; when it is empty it returns
// false and how long until a token is there.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= maxBuckets {
			full := time.Duration(float64(l.burst) / float64(l.every) * float64(time.Second))
			for k, x := range l.m {
				if now.Sub(x.seen) > full {
					delete(l.m, k)
				}
			}
		}
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.m[key] = b
	}
	b.seen = now
	res := b.lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return false, d
	}
	return true, 0
}

// rateKey names whose bucket a request draws on: the credential (each
// token and each console session has its own), else the address.
func rateKey(r *http.Request) string {
	if p, ok := principalOf(r); ok {
		if p.Credential != "" {
			return p.Credential
		}
		return p.Kind + ":" + strconv.FormatInt(p.ID, 10) + ":" + p.Name
	}
	return "addr:" + remoteAddr(r)
}

// rateLimit answers 429 with Retry-After when the caller has used up its
// bucket. It runs after authenticate, which knows the caller. The
// development token is for tests and benchmarks of throughput and is not
// limited.
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.limiter == nil {
			next.ServeHTTP(w, r)
			return
		}
		if p, ok := principalOf(r); ok && p.Kind == "dev" {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := s.limiter.allow(rateKey(r), time.Now())
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		writeError(w, r, geo.Errorf(geo.ETOOMANY, "more than %g requests/s (burst %d) from one caller: slow down and retry after the Retry-After seconds, or ask the operator to raise --rate-limit", float64(s.limiter.every), s.limiter.burst))
	})
}
