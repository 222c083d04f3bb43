package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gridd/gridd/geo"
	"github.com/gridd/gridd/importers"
	"github.com/gridd/gridd/postgis"
	"github.com/paulmach/orb"
)

// importService joins the file readers and the database: the one path by
// which the CLI and the HTTP upload import a layer.
type importService struct {
	db *postgis.DB
	// slots bounds the uploads imported at once; the rest wait queued.
	slots chan struct{}
	// ctx outlives requests: an upload's import goes on after its 202.
	ctx context.Context
}

func newImportService(ctx context.Context, db *postgis.DB, concurrent int) *importService {
	return &importService{db: db, slots: make(chan struct{}, concurrent), ctx: ctx}
}

// Import reads path and stores it as a new layer version (or, with DryRun,
// only reports). progress, if set, is called with the count of features
// read so far.
func (s *importService) Import(ctx context.Context, path string, req geo.ImportRequest, progress func(int)) (geo.ImportReport, error) {
	var rep geo.ImportReport
	if req.FileName == "" {
		req.FileName = filepath.Base(path)
	}
	if req.Name == "" {
		req.Name = req.FileName
	}
	switch req.Kind {
	case "", geo.KindLayer:
	case geo.KindBuildings:
		return s.importBuildings(ctx, path, req, progress)
	default:
		return rep, geo.Errorf(geo.EINVALID, "import kind %q: use layer or buildings", req.Kind)
	}
	if _, err := geo.ParseLevel(string(req.Level)); err != nil {
		return rep, err
	}
	meta := postgis.LayerMeta{Dept: req.Dept, Level: req.Level, Name: req.Name, FileName: req.FileName,
		DryRun: req.DryRun, AllowOutside: req.AllowOutside, SkipBad: req.SkipBad, Attribution: req.Attribution}
	src, err := openSource(path, req)
	if err != nil {
		return rep, err
	}
	r, info, datum, opts := src.r, src.r.Info(), src.datum, src.opts
	defer r.Close()
	meta.SRID, meta.SRSFromUser, meta.SRSLabel, meta.FileHash = src.srid, src.srsFromUser, src.srsLabel, src.hash
	rep.Format, rep.Encoding, rep.Fields = info.Format, info.Encoding, info.Fields
	rep.SRS = meta.SRSLabel
	mapping, err := importers.MapFields(info.Fields, opts)
	if err != nil {
		return rep, err
	}
	rep.Mapping = map[string]string{}
	for k, v := range map[string]string{"code": mapping.Code, "name": mapping.Name, "parent": mapping.Parent,
		"households": mapping.Households, "population": mapping.Population} {
		if v != "" {
			rep.Mapping[k] = v
		}
	}
	rep.Guessed = mapping.Guessed
	n := 0
	next := func() (geo.Feature, error) {
		f, err := r.Next()
		if err != nil {
			return f, err
		}
		n++
		if progress != nil && n%1000 == 0 {
			progress(n)
		}
		if err := mapping.Apply(&f); err != nil {
			return f, geo.Errorf(geo.EINVALID, "%s: feature %d: %s", req.FileName, n, geo.ErrorMessage(err))
		}
		f.Geometry = toWGS84(datum, f.Geometry)
		return f, nil
	}
	err = s.db.ImportLayer(ctx, meta, next, &rep)
	if progress != nil {
		progress(n)
	}
	return rep, err
}

// source is an opened file with its coordinate system resolved: the SRID
// PostGIS transforms from, and a datum of Chinese web maps converted in Go.
type source struct {
	r           importers.Reader
	opts        importers.Options
	srid        int
	datum       geo.Datum
	srsFromUser bool
	srsLabel    string
	hash        string
}

// openSource hashes and opens path for req and resolves its coordinate
// system: the request's, else the file's, else EPSG:4326 (assumed).
func openSource(path string, req geo.ImportRequest) (source, error) {
	var s source
	if req.SRS != "" {
		srid, d, err := parseSRS(req.SRS)
		if err != nil {
			return s, err
		}
		s.srid, s.datum, s.srsFromUser, s.srsLabel = srid, d, true, req.SRS
	}
	hash, err := fileHash(path)
	if err != nil {
		return s, err
	}
	s.hash = hash
	s.opts = importers.Options{CodeField: req.CodeField, NameField: req.NameField, ParentField: req.ParentField,
		HouseholdsField: req.HouseholdsField, PopulationField: req.PopulationField, Encoding: req.Encoding, Table: req.Table}
	if s.srid != 0 {
		s.opts.SRS = "EPSG:" + strconv.Itoa(s.srid)
	}
	if s.r, err = importers.Open(path, s.opts); err != nil {
		return s, err
	}
	if s.srid == 0 {
		s.srid, s.srsLabel = 4326, "EPSG:4326 (assumed)"
		if fileSRS := s.r.Info().SRS; fileSRS != "" {
			srid, _, err := parseSRS(fileSRS)
			if err != nil {
				s.r.Close()
				return s, err
			}
			s.srid, s.srsFromUser, s.srsLabel = srid, true, fileSRS
		}
	}
	return s, nil
}

// toWGS84 converts a geometry read in a web-map datum; nil datum: as is.
func toWGS84(datum geo.Datum, g orb.Geometry) orb.Geometry {
	if datum == "" || datum == geo.DatumWGS84 || g == nil {
		return g
	}
	return geo.TransformGeometry(g, func(lon, lat float64) (float64, float64) { return geo.ToWGS84(datum, lon, lat) })
}

// parseSRS turns "EPSG:4549" into its SRID, and a web-map datum (gcj02,
// bd09) or WGS84/CGCS2000 name into SRID 4326 plus the datum to convert from.
func parseSRS(s string) (int, geo.Datum, error) {
	u := strings.ToUpper(strings.TrimSpace(s))
	if rest, ok := strings.CutPrefix(u, "EPSG:"); ok {
		n, err := strconv.Atoi(rest)
		if err != nil || n <= 0 {
			return 0, "", geo.Errorf(geo.EINVALID, "coordinate system %q: write EPSG:nnnn, e.g. EPSG:4490, or gcj02/bd09", s)
		}
		return n, "", nil
	}
	d, err := geo.ParseDatum(s)
	if err != nil {
		return 0, "", geo.Errorf(geo.EINVALID, "coordinate system %q: write EPSG:nnnn (e.g. EPSG:4490, EPSG:4549), gcj02 or bd09", s)
	}
	if d == geo.DatumWGS84 {
		return 4326, "", nil
	}
	return 4326, d, nil
}

func fileHash(path string) (string, error) {
	h := sha256.New()
	st, err := os.Stat(path)
	if err != nil {
		return "", geo.WrapError(geo.EINVALID, err, "cannot read %s", path)
	}
	if st.IsDir() {
		// A shapefile folder: hash its files in name order.
		entries, err := os.ReadDir(path)
		if err != nil {
			return "", geo.WrapError(geo.EINVALID, err, "cannot read %s", path)
		}
		for _, e := range entries {
			if e.Type().IsRegular() {
				h.Write([]byte(e.Name()))
				if err := hashFile(h, filepath.Join(path, e.Name())); err != nil {
					return "", err
				}
			}
		}
	} else if err := hashFile(h, path); err != nil {
		return "", err
	}
	// A shapefile is more than its .shp: its attributes and projection live
	// beside it.
	if strings.EqualFold(filepath.Ext(path), ".shp") {
		base := strings.TrimSuffix(path, filepath.Ext(path))
		for _, ext := range []string{".dbf", ".prj", ".cpg", ".DBF", ".PRJ", ".CPG"} {
			if _, err := os.Stat(base + ext); err == nil {
				hashFile(h, base+ext)
			}
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot read %s", path)
	}
	defer f.Close()
	if _, err := io.Copy(w, f); err != nil {
		return geo.WrapError(geo.EINVALID, err, "cannot read %s", path)
	}
	return nil
}

// StartImport records a job for an uploaded file and imports it in the
// background; the file is removed when the job ends.
func (s *importService) StartImport(ctx context.Context, path string, req geo.ImportRequest) (geo.ImportJob, error) {
	var job geo.ImportJob
	var err error
	// Refused at once (400), not as a failed job.
	if req.Attribution, err = postgis.CleanAttribution(req.Attribution); err != nil {
		os.Remove(path)
		return job, err
	}
	job, err = s.db.CreateImportJob(ctx, req)
	if err != nil {
		os.Remove(path)
		return job, err
	}
	go func() {
		defer os.Remove(path)
		select {
		case s.slots <- struct{}{}:
		case <-s.ctx.Done():
			s.db.FinishImportJob(context.Background(), job.ID, nil, geo.Errorf(geo.EUNAVAILABLE, "gridd shut down before the import started"))
			return
		}
		defer func() { <-s.slots }()
		jctx, cancel := context.WithTimeout(s.ctx, time.Hour)
		defer cancel()
		s.db.SetImportJobRunning(jctx, job.ID)
		rep, err := s.Import(jctx, path, req, nil)
		if err != nil {
			slog.Info("import job failed", "job", job.ID, "err", err)
		}
		var rp *geo.ImportReport
		if err == nil || rep.Read > 0 {
			rp = &rep
		}
		if ferr := s.db.FinishImportJob(context.Background(), job.ID, rp, err); ferr != nil {
			slog.Error("record import job", "job", job.ID, "err", ferr)
		}
	}()
	return job, nil
}

// Job returns an import job's state and report.
func (s *importService) Job(ctx context.Context, id int64) (geo.ImportJob, error) {
	return s.db.ImportJob(ctx, id)
}
