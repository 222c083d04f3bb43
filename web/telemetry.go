package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Who may read /metrics (Config.Metrics).
const (
	MetricsAuth   = ""       // admins and viewers, by session or token (the default)
	MetricsPublic = "public" // anyone: for a scraper inside a closed network
	MetricsOff    = "off"    // no /metrics route
)

// OpsSource gives the figures that /metrics reads from the database at
// each scrape (postgis.DB): the connection pool, the scheduler's lag and
// the webhook queue. They are read at scrape time rather than counted in
// this process because several replicas share one queue and one scheduler.
type OpsSource interface {
	OpsFigures(ctx context.Context) (geo.OpsFigures, error)
}

// telemetry holds the server's Prometheus registry: its own, not the
// global default, so that two servers in one process (tests) never share
// counters.
type telemetry struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newTelemetry(s *Server) *telemetry {
	t := &telemetry{reg: prometheus.NewRegistry()}
	t.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridd_http_requests_total", Help: "HTTP requests answered, by route template, method and status code.",
	}, []string{"route", "method", "code"})
	t.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gridd_http_request_duration_seconds", Help: "Time to answer an HTTP request, by route template and method (event streams excluded).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"route", "method"})
	t.reg.MustRegister(t.requests, t.latency,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if s.tiles != nil {
		t.reg.MustRegister(tileCollector{ts: s.tiles})
	}
	if s.deps.Events != nil {
		hub := s.deps.Events
		t.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gridd_event_listeners", Help: "Server-sent event streams open on this replica.",
		}, func() float64 { return float64(hub.listeners()) }))
	}
	if s.deps.Ops != nil {
		t.reg.MustRegister(opsCollector{src: s.deps.Ops, log: s.deps.Logger})
	}
	return t
}

// instrument counts and times every matched request by its route
// template, never by its path, so that the number of series stays fixed.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route := "unmatched"
		if cr := mux.CurrentRoute(r); cr != nil {
			if tpl, err := cr.GetPathTemplate(); err == nil {
				route = tpl
			}
		}
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(sw, r)
		s.telemetry.requests.WithLabelValues(route, r.Method, strconv.Itoa(sw.code)).Inc()
		if route != "/api/v1/events" {
			s.telemetry.latency.WithLabelValues(route, r.Method).Observe(time.Since(start).Seconds())
		}
	})
}

// statusWriter remembers the status code; Unwrap lets
// http.ResponseController reach Flush and deadlines underneath.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	w.wrote = true
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// metricsRoute registers /metrics unless Config.Metrics is off.
func (s *Server) metricsRoute(r *mux.Router) {
	if s.cfg.Metrics == MetricsOff {
		return
	}
	r.Handle("/metrics", promhttp.HandlerFor(s.telemetry.reg, promhttp.HandlerOpts{ErrorLog: nil})).Methods(http.MethodGet)
}

// tileCollector reports the tile cache's counters as they stand.
type tileCollector struct{ ts *tileService }

var (
	tileRequestsDesc = prometheus.NewDesc("gridd_tile_cache_requests_total", "Tile requests by where the tile came from: memory (hit), disk, or the database (miss).", []string{"result"}, nil)
	tileBytesDesc    = prometheus.NewDesc("gridd_tile_cache_bytes", "Bytes of tiles held in the memory cache.", nil, nil)
	tileEntriesDesc  = prometheus.NewDesc("gridd_tile_cache_entries", "Tiles held in the memory cache.", nil, nil)
	tileEvictDesc    = prometheus.NewDesc("gridd_tile_cache_evictions_total", "Tiles evicted from the memory cache to stay within its budget.", nil, nil)
)

func (c tileCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- tileRequestsDesc
	ch <- tileBytesDesc
	ch <- tileEntriesDesc
	ch <- tileEvictDesc
}

func (c tileCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.ts.cache.Stats()
	ch <- prometheus.MustNewConstMetric(tileRequestsDesc, prometheus.CounterValue, float64(st.Hits), "hit")
	ch <- prometheus.MustNewConstMetric(tileRequestsDesc, prometheus.CounterValue, float64(st.DiskHits), "disk")
	ch <- prometheus.MustNewConstMetric(tileRequestsDesc, prometheus.CounterValue, float64(st.Misses), "miss")
	ch <- prometheus.MustNewConstMetric(tileBytesDesc, prometheus.GaugeValue, float64(st.Bytes))
	ch <- prometheus.MustNewConstMetric(tileEntriesDesc, prometheus.GaugeValue, float64(st.Entries))
	ch <- prometheus.MustNewConstMetric(tileEvictDesc, prometheus.CounterValue, float64(st.Evictions))
}

// opsCollector reads the database's figures at scrape time, within a
// short deadline: a slow database must not hang the scraper.
type opsCollector struct {
	src OpsSource
	log interface {
		Warn(msg string, args ...any)
	}
}

var (
	poolConnsDesc    = prometheus.NewDesc("gridd_db_pool_connections", "Database connections of this replica's pool, by state.", []string{"state"}, nil)
	poolMaxDesc      = prometheus.NewDesc("gridd_db_pool_max_connections", "Largest size of this replica's pool.", nil, nil)
	poolAcquiresDesc = prometheus.NewDesc("gridd_db_pool_acquires_total", "Connections taken from the pool.", nil, nil)
	poolWaitDesc     = prometheus.NewDesc("gridd_db_pool_acquire_wait_seconds_total", "Time spent waiting for a free connection.", nil, nil)
	schedLagDesc     = prometheus.NewDesc("gridd_scheduler_lag_seconds", "Age of the oldest case past its deadline that the scheduler has not flagged yet (0: none waiting).", nil, nil)
	hookQueueDesc    = prometheus.NewDesc("gridd_webhook_deliveries", "Webhook deliveries in the shared queue, by state.", []string{"state"}, nil)
	hookAgeDesc      = prometheus.NewDesc("gridd_webhook_oldest_pending_seconds", "Age of the oldest pending webhook delivery (0: none).", nil, nil)
	standbyDesc      = prometheus.NewDesc("gridd_db_read_standby_usable", "1 while the --db-read standby serves the heavy reads.", nil, nil)
	heavyReadsDesc   = prometheus.NewDesc("gridd_db_heavy_reads_total", "Heavy reads (tiles, features, exports, metrics) by where they went, with --db-read.", []string{"target"}, nil)
	opsUpDesc        = prometheus.NewDesc("gridd_db_up", "1 when the database answered this scrape's queries.", nil, nil)
)

func (c opsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{standbyDesc, heavyReadsDesc, poolConnsDesc, poolMaxDesc, poolAcquiresDesc, poolWaitDesc, schedLagDesc, hookQueueDesc, hookAgeDesc, opsUpDesc} {
		ch <- d
	}
}

func (c opsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	f, err := c.src.OpsFigures(ctx)
	up := 1.0
	if err != nil {
		c.log.Warn("metrics: database figures unavailable", "err", err)
		up = 0
	}
	// The pool's own figures are known even when the queries failed.
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(f.PoolAcquired), "acquired")
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(f.PoolIdle), "idle")
	ch <- prometheus.MustNewConstMetric(poolConnsDesc, prometheus.GaugeValue, float64(f.PoolConstructing), "constructing")
	ch <- prometheus.MustNewConstMetric(poolMaxDesc, prometheus.GaugeValue, float64(f.PoolMax))
	ch <- prometheus.MustNewConstMetric(poolAcquiresDesc, prometheus.CounterValue, float64(f.PoolAcquires))
	ch <- prometheus.MustNewConstMetric(poolWaitDesc, prometheus.CounterValue, f.PoolAcquireWait.Seconds())
	ch <- prometheus.MustNewConstMetric(opsUpDesc, prometheus.GaugeValue, up)
	if f.StandbyConfigured {
		usable := 0.0
		if f.StandbyUsable {
			usable = 1
		}
		ch <- prometheus.MustNewConstMetric(standbyDesc, prometheus.GaugeValue, usable)
		ch <- prometheus.MustNewConstMetric(heavyReadsDesc, prometheus.CounterValue, float64(f.StandbyReads), "standby")
		ch <- prometheus.MustNewConstMetric(heavyReadsDesc, prometheus.CounterValue, float64(f.PrimaryReads), "primary")
	}
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(schedLagDesc, prometheus.GaugeValue, f.SchedulerLag.Seconds())
	ch <- prometheus.MustNewConstMetric(hookQueueDesc, prometheus.GaugeValue, float64(f.WebhooksPending), "pending")
	ch <- prometheus.MustNewConstMetric(hookQueueDesc, prometheus.GaugeValue, float64(f.WebhooksFailed), "failed")
	ch <- prometheus.MustNewConstMetric(hookAgeDesc, prometheus.GaugeValue, f.WebhookOldest.Seconds())
}
