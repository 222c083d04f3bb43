package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// GenerationStore merges, activates, checks and exports generations.
type GenerationStore interface {
	Generations(ctx context.Context) ([]geo.Generation, error)
	Merge(ctx context.Context, p geo.MergeParams) (geo.MergeReport, error)
	MergeReportOf(ctx context.Context, gen int) (geo.MergeReport, error)
	ActivationStore
	Check(ctx context.Context, gen int, p geo.CheckParams) ([]geo.Violation, error)
	ExportAreas(ctx context.Context, gen int, level geo.Level, format string, w io.Writer) error
	ExportCrosswalk(ctx context.Context, gen int, dept string, w io.Writer) error
	WritePieces(ctx context.Context, gen int, kind string, w io.Writer) error
	// Compare counts the areas kept, reshaped, added and removed from
	// generation from to generation to (0: the active one).
	Compare(ctx context.Context, from, to int) (geo.GenerationDiff, error)
}

// FileExporter writes one level of a generation (0: the active one) to a
// new file at path in a format that cannot be streamed while it is made:
// "gpkg", a GeoPackage, or "shp", a shapefile zipped into path (.zip).
type FileExporter interface {
	ExportFile(ctx context.Context, gen int, level geo.Level, format, path string) error
}

// fileFormat is how a file export is named and sent.
type fileFormat struct{ ext, contentType string }

// fileFormats are the export formats made as files first.
var fileFormats = map[string]fileFormat{
	"gpkg": {".gpkg", "application/geopackage+sqlite3"},
	"shp":  {".zip", "application/zip"},
}

// maxJSONBody bounds JSON request bodies.
const maxJSONBody = 1 << 20

// decodeJSON reads a JSON body into v, refusing unknown fields, trailing
// data and bodies over the limit.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxJSONBody)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return geo.Errorf(geo.ETOOLARGE, "request body over %d bytes", maxJSONBody)
		}
		if errors.Is(err, io.EOF) {
			return geo.Errorf(geo.EINVALID, "empty request body: send a JSON object")
		}
		return geo.Errorf(geo.EINVALID, "request body is not the expected JSON: %v", err)
	}
	if dec.More() {
		return geo.Errorf(geo.EINVALID, "request body has data after the JSON object")
	}
	return nil
}

func pathGen(r *http.Request) (int, error) {
	s := mux.Vars(r)["gen"]
	if s == "active" {
		return 0, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return 0, geo.Errorf(geo.EINVALID, "generation %q is not a number (or 'active')", s)
	}
	return v, nil
}

func (s *Server) handleGenerations(w http.ResponseWriter, r *http.Request) {
	gens, err := s.deps.Generations.Generations(r.Context())
	if err != nil {
		writeError(w, r, err)
		return
	}
	if gens == nil {
		gens = []geo.Generation{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"generations": gens})
}

// handleMerge answers POST /api/v1/merges with the draft's report.
func (s *Server) handleMerge(w http.ResponseWriter, r *http.Request) {
	var p geo.MergeParams
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, &p); err != nil {
			writeError(w, r, err)
			return
		}
	}
	rep, err := s.deps.Generations.Merge(r.Context(), p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, rep)
}

func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	gen, err := pathGen(r)
	if err != nil || gen == 0 {
		writeError(w, r, geo.Errorf(geo.EINVALID, "give a generation number"))
		return
	}
	rep, err := s.deps.Generations.MergeReportOf(r.Context(), gen)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (s *Server) handleCheck(w http.ResponseWriter, r *http.Request) {
	gen, err := pathGen(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	vs, err := s.deps.Generations.Check(r.Context(), gen, geo.CheckParams{})
	if err != nil {
		writeError(w, r, err)
		return
	}
	if vs == nil {
		vs = []geo.Violation{}
	}
	out := map[string]any{"ok": len(vs) == 0, "violations": vs}
	// ?require_resolved=true: every dispute must be settled and followed
	// too (as 'gridd check --require-resolved').
	if req, _ := strconv.ParseBool(r.URL.Query().Get("require_resolved")); req && s.deps.Disputes != nil {
		ds, err := s.deps.Disputes.Disputes(r.Context(), geo.DisputeFilter{Generation: gen, State: "unresolved"})
		if err != nil {
			writeError(w, r, err)
			return
		}
		out["unresolved_disputes"] = ds
		out["ok"] = len(vs) == 0 && len(ds) == 0
	}
	writeJSON(w, http.StatusOK, out)
}

// handleExport answers GET /api/v1/generations/{gen}/export?level=&format=
// and ?crosswalk=DEPT for a department's crosswalk as CSV.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	gen, err := pathGen(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	if dept := q.Get("crosswalk"); dept != "" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="crosswalk-`+dept+`.csv"`)
		if err := s.deps.Generations.ExportCrosswalk(r.Context(), gen, dept, &lazyWriter{w: w}); err != nil {
			writeError(w, r, err)
		}
		return
	}
	level, err := geo.ParseLevel(q.Get("level"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	format := q.Get("format")
	if format == "" {
		format = "geojson"
	}
	if f, ok := fileFormats[format]; ok {
		s.exportFile(w, r, gen, level, format, f)
		return
	}
	ctype := map[string]string{"geojson": "application/geo+json", "csv": "text/csv; charset=utf-8"}[format]
	if ctype == "" {
		writeError(w, r, geo.Errorf(geo.EINVALID, "export format %q: use geojson, csv, gpkg or shp", format))
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+level.Plural()+"."+format+`"`)
	if err := s.deps.Generations.ExportAreas(r.Context(), gen, level, format, &lazyWriter{w: w}); err != nil {
		writeError(w, r, err)
	}
}

// exportFile answers a GeoPackage or zipped-shapefile download. Neither can
// be sent while it is made (SQLite writes its pages out of order; a zip
// needs the shapefile's parts first), so the file is made in a temporary
// folder, sent with its length, and removed.
func (s *Server) exportFile(w http.ResponseWriter, r *http.Request, gen int, level geo.Level, format string, f fileFormat) {
	if s.deps.Exports == nil {
		writeError(w, r, geo.Errorf(geo.EINVALID, "export format %q is not available on this server: use geojson or csv", format))
		return
	}
	dir, err := os.MkdirTemp(s.cfg.UploadDir, "gridd-export-")
	if err != nil {
		writeError(w, r, geo.WrapError(geo.EUNAVAILABLE, err, "cannot make a temporary folder for the export: check the disk space and --upload-dir"))
		return
	}
	defer os.RemoveAll(dir)
	name := level.Plural() + f.ext
	path := filepath.Join(dir, name)
	if err := s.deps.Exports.ExportFile(r.Context(), gen, level, format, path); err != nil {
		writeError(w, r, err)
		return
	}
	file, err := os.Open(path)
	if err != nil {
		writeError(w, r, geo.WrapError(geo.EINTERNAL, err, "export"))
		return
	}
	defer file.Close()
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	http.ServeContent(w, r, name, time.Time{}, file)
}

func (s *Server) handlePieces(w http.ResponseWriter, r *http.Request) {
	gen, err := pathGen(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	if err := s.deps.Generations.WritePieces(r.Context(), gen, r.URL.Query().Get("kind"), &lazyWriter{w: w}); err != nil {
		writeError(w, r, err)
	}
}

// lazyWriter lets a streaming handler fail with a proper JSON error as long
// as it has not written anything yet: the header is sent on the first write.
type lazyWriter struct {
	w       http.ResponseWriter
	started bool
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	l.started = true
	return l.w.Write(p)
}

// handleCompare answers GET /api/v1/generations/{gen}/compare?with=N: how
// generation {gen} differs from N (default: the active generation).
func (s *Server) handleCompare(w http.ResponseWriter, r *http.Request) {
	gen, err := pathGen(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	with, err := genParam(r.URL.Query().Get("with"))
	if err != nil {
		writeError(w, r, geo.Errorf(geo.EINVALID, "with=%q is not a generation number: give the generation to compare with (default: the active one)", r.URL.Query().Get("with")))
		return
	}
	d, err := s.deps.Generations.Compare(r.Context(), with, gen)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}
