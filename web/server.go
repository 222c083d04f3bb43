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
)

//go:embed all:dist
var distFS embed.FS

// TileSource cuts vector tiles of the unified coverage.
type TileSource interface {
	// AreaTile returns an MVT tile of one level of a generation (0: the
	// active one); nil when the tile is empty.
	AreaTile(ctx context.Context, generation int, level geo.Level, z, x, y int) ([]byte, error)
}

// Pinger reports whether the database answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Config is the HTTP server's configuration.
type Config struct {
	Addr            string        // listen address, e.g. ":8080"
	UploadDir       string        // where uploads are kept while imported ("" = system temp)
	MaxUploadBytes  int64         // largest accepted upload (0 = 512 MiB)
	ShutdownTimeout time.Duration // how long in-flight requests may finish
}

// Deps are the services the HTTP layer calls.
type Deps struct {
	Locator     geo.Locator
	Tiles       TileSource
	Generations GenerationStore
	Importer    LayerImporter
	Health      Pinger
	Logger      *slog.Logger
}

// Server serves the API, tiles and console.
type Server struct {
	cfg    Config
	deps   Deps
	router *mux.Router
}

// NewServer wires the routes.
func NewServer(cfg Config, deps Deps) *Server {
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	s := &Server{cfg: cfg, deps: deps, router: mux.NewRouter()}
	s.routes()
	return s
}

func (s *Server) routes() {
	r := s.router
	r.HandleFunc("/healthz", s.handleHealth).Methods(http.MethodGet, http.MethodHead)
	api := r.PathPrefix("/api/v1").Subrouter()
	api.HandleFunc("/locate", s.handleLocate).Methods(http.MethodGet)
	api.HandleFunc("/generations", s.handleGenerations).Methods(http.MethodGet)
	api.HandleFunc("/merges", s.handleMerge).Methods(http.MethodPost)
	api.HandleFunc("/generations/{gen}/report", s.handleReport).Methods(http.MethodGet)
	api.HandleFunc("/generations/{gen}/activate", s.handleActivate).Methods(http.MethodPost)
	api.HandleFunc("/generations/{gen}/check", s.handleCheck).Methods(http.MethodGet)
	api.HandleFunc("/generations/{gen}/export", s.handleExport).Methods(http.MethodGet)
	api.HandleFunc("/generations/{gen}/pieces", s.handlePieces).Methods(http.MethodGet)
	api.HandleFunc("/layers", s.handleUploadLayer).Methods(http.MethodPost)
	api.HandleFunc("/jobs/{id}", s.handleJob).Methods(http.MethodGet)
	api.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, geo.Errorf(geo.ENOTFOUND, "no API endpoint %s %s", r.Method, r.URL.Path))
	})
	r.HandleFunc("/tiles/{layer}/{z:[0-9]+}/{x:[0-9]+}/{y:[0-9]+}.mvt", s.handleTile).Methods(http.MethodGet)
	assets, _ := fs.Sub(distFS, "dist")
	r.PathPrefix("/").Handler(http.FileServer(http.FS(assets)))
}

// Handler returns the root handler, for tests and embedding.
func (s *Server) Handler() http.Handler { return s.router }

// Serve answers on l until ctx ends, then drains in-flight requests.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           s.router,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
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
