package web

import (
	"context"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
	"github.com/paulmach/orb"
)

//go:embed all:dist
var distFS embed.FS

// TileSource cuts vector tiles of the unified coverage and of the
// departmental layers, and says what there is to cut.
type TileSource interface {
	// Tile returns one MVT tile; nil when the tile is empty.
	Tile(ctx context.Context, q geo.TileQuery) ([]byte, error)
	// TileCatalog returns the active generation, the generations and the
	// latest departmental grid layers.
	TileCatalog(ctx context.Context) (geo.TileCatalog, error)
	// Bounds returns the lon/lat extent of a generation (layerID 0) or a
	// departmental layer version.
	Bounds(ctx context.Context, gen int, layerID int64) (orb.Bound, error)
}

// FeatureSource pages through the features of a level or departmental
// layer as GeoJSON, for OGC API – Features.
type FeatureSource interface {
	Features(ctx context.Context, q geo.FeatureQuery) (geo.FeaturePage, error)
}

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is the HTTP server's configuration.
type Config struct {
	Addr            string             // listen address, e.g. ":8080"
	UploadDir       string             // where uploads are kept while imported ("" = system temp)
	MaxUploadBytes  int64              // largest accepted upload (0 = 512 MiB)
	ExportApproval  time.Duration      // how long an approval (an export of personal data, an activation) waits to be used (0 = 24 h)
	ShutdownTimeout time.Duration      // how long in-flight requests may finish
	TileCacheBytes  int64              // memory for cached tiles (0 = 256 MiB, <0 = none)
	TileCacheDir    string             // disk cache of tiles ("" = none)
	NoTilePrewarm   bool               // do not pre-warm low zooms at activation (benchmarks of cold tiles)
	PublicTiles     bool               // tiles and OGC features of the coverage without credentials
	SessionTTL      time.Duration      // console session lifetime (0 = 12 h)
	Basemap         *Basemap           // raster basemap under the grids in /tiles/style.json (nil: none)
	DevToken        string             // FOR TESTS ONLY: a bearer token that is an admin and may name itself (X-Gridd-Actor/Role)
	RateLimit       float64            // requests/s per token, session or anonymous address (0 = no limit); see limits.go
	RateBurst       int                // requests a caller may send at once above the rate (0 = one second's worth)
	RequestTimeout  time.Duration      // deadline of each request's context but streams and transfers (0 = none)
	MaxInFlight     int                // requests served at once before the rest get 503 (0 = no cap)
	Metrics         string             // who may read /metrics: MetricsAuth (""), MetricsPublic or MetricsOff
	WebhookTargets  geo.WebhookTargets // addresses webhooks may be subscribed to (zero: internal ones refused)
	// ActivationApprovalHouseholds is how many households an activation
	// over the API may move between grids without approval (0: any number).
	ActivationApprovalHouseholds int
}

// Deps are the services the HTTP layer calls.
type Deps struct {
	Locator     geo.Locator
	Tiles       TileSource
	Features    FeatureSource
	Generations GenerationStore
	Exports     FileExporter // GeoPackage and zipped-shapefile downloads; nil: GeoJSON and CSV only
	Importer    LayerImporter
	Health      Pinger
	Routing     Router        // in-memory point location; nil: Locator (SQL) answers /locate
	Incidents   IncidentStore // the case workflow; nil: no /incidents, /open311
	Casework    CaseworkStore
	Duplicates  DuplicateStore // possible duplicates and merges; nil: no /duplicates, /merge-into
	Verdicts    VerdictStore   // the reporters' verdicts (群众签单); nil: no /verdicts, /verdict-link
	Summons     SummonsStore   // the departments' summons (吹哨报到); nil: no /summons
	Disputes    DisputeStore   // disputed pieces between admin areas (插花地); nil: no /disputes
	Register    RegisterStore  // households and residents (实有人口); nil: no /households, /residents, /register
	Events      *EventHub      // fans incident events out to SSE streams
	Auth        AuthStore      // sessions, tokens, the audit log; nil: every protected route answers 503
	Logger      *slog.Logger

	// The operator console's area panel and incident map (issue 8).
	Areas         AreaStore      // area search and panel; nil: no /areas
	Buildings     BuildingSource // buildings by area and by id; nil: no /buildings
	IncidentTiles IncidentTiles  // cases as vector tiles; nil: no /tiles/incidents
	Ops           OpsSource      // database figures for /metrics; nil: the process's own only
}

// Server serves the API, tiles and console.
type Server struct {
	cfg       Config
	deps      Deps
	router    *mux.Router
	tiles     *tileService  // nil without deps.Tiles
	auth      *authState    // failed logins
	limiter   *limiter      // per-caller token buckets; nil: no rate limit
	inflight  chan struct{} // a slot per request being served; nil: no cap
	telemetry *telemetry    // the Prometheus registry behind /metrics
}

// NewServer wires the routes.
func NewServer(cfg Config, deps Deps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	s := &Server{cfg: cfg, deps: deps, router: mux.NewRouter(), auth: newAuthState(), limiter: newLimiter(cfg.RateLimit, cfg.RateBurst)}
	if deps.Tiles != nil {
		s.tiles = newTileService(deps.Tiles, cfg, deps.Logger)
	}
	if cfg.MaxInFlight > 0 {
		s.inflight = make(chan struct{}, cfg.MaxInFlight)
	}
	s.telemetry = newTelemetry(s)
	s.routes()
	return s
}

func (s *Server) routes() {
	r := s.router
	r.Use(s.instrument, s.deadline, s.shed, s.authenticate, s.rateLimit) // every matched route: telemetry.go, limits.go, policy in auth.go
	r.HandleFunc("/healthz", s.handleHealth).Methods(http.MethodGet, http.MethodHead)
	s.metricsRoute(r)
	api := r.PathPrefix("/api/v1").Subrouter()
	s.authRoutes(api)
	s.openAPIRoutes(api)
	api.HandleFunc("/locate", s.handleLocate).Methods(http.MethodGet)
	api.HandleFunc("/generations", s.handleGenerations).Methods(http.MethodGet)
	api.HandleFunc("/merges", s.handleMerge).Methods(http.MethodPost)
	api.HandleFunc("/generations/{gen}/report", s.handleReport).Methods(http.MethodGet)
	api.HandleFunc("/generations/{gen}/activate", s.handleActivate).Methods(http.MethodPost)
	s.activationRoutes(api)
	api.HandleFunc("/generations/{gen}/check", s.handleCheck).Methods(http.MethodGet)
	api.HandleFunc("/generations/{gen}/export", s.handleExport).Methods(http.MethodGet)
	api.HandleFunc("/generations/{gen}/pieces", s.handlePieces).Methods(http.MethodGet)
	api.HandleFunc("/generations/{gen}/compare", s.handleCompare).Methods(http.MethodGet)
	api.HandleFunc("/layers", s.handleUploadLayer).Methods(http.MethodPost)
	api.HandleFunc("/jobs/{id}", s.handleJob).Methods(http.MethodGet)
	s.caseworkRoutes(api)
	s.areaRoutes(api)
	s.buildingRoutes(api)
	s.duplicateRoutes(api)
	s.verdictRoutes(r, api)
	s.summonsRoutes(api)
	s.disputeRoutes(api)
	s.registerRoutes(api)
	api.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, geo.Errorf(geo.ENOTFOUND, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
	s.incidentTileRoute(r)
	r.HandleFunc("/tiles/{layer}/{z:[0-9]+}/{x:[0-9]+}/{y:[0-9]+}.mvt", s.handleTile).Methods(http.MethodGet)
	r.HandleFunc("/tiles/dept/{dept}/{z:[0-9]+}/{x:[0-9]+}/{y:[0-9]+}.mvt", s.handleTile).Methods(http.MethodGet)
	r.HandleFunc("/tiles/style.json", s.handleStyle).Methods(http.MethodGet)
	r.HandleFunc("/tiles/{layer}.json", s.handleTileJSON).Methods(http.MethodGet)
	r.HandleFunc("/tiles/dept/{dept}.json", s.handleTileJSON).Methods(http.MethodGet)
	s.ogcRoutes(r.PathPrefix("/ogc").Subrouter())
	s.open311Routes(r)
	assets, _ := fs.Sub(distFS, "dist")
	r.PathPrefix("/").Handler(staticFiles(assets))
}

// GenerationChanged tells the server that a generation was activated
// elsewhere (the CLI, another replica): tiles and styles follow at the
// next request instead of when their catalog's TTL runs out.
func (s *Server) GenerationChanged() {
	if s.tiles != nil {
		s.tiles.expire()
	}
}

// Handler returns the root handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.router }

// Serve answers on l until ctx ends, then drains in-flight requests.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if s.tiles != nil {
		defer s.tiles.close()
	}
	srv := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	srv.RegisterOnShutdown(s.closeStreams) // SSE streams never end on their own
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Listen opens the configured address with an error that says what to do.
func (s *Server) Listen() (net.Listener, error) {
	l, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return nil, geo.WrapError(geo.EUNAVAILABLE, err, "cannot listen on %s: is another gridd running? choose another address with --addr", s.cfg.Addr)
	}
	return l, nil
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.deps.Health.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "database": "down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "database": "up"})
}
