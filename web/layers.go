package web

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/gridd/gridd/geo"
)

// LayerImporter imports uploaded files as jobs.
type LayerImporter interface {
	// StartImport takes ownership of the file at path (removing it when
	// done) and imports it in the background.
	StartImport(ctx context.Context, path string, req geo.ImportRequest) (geo.ImportJob, error)
	Job(ctx context.Context, id int64) (geo.ImportJob, error)
}

// defaultMaxUpload bounds an uploaded layer file.
const defaultMaxUpload = 512 << 20

// importRequestFrom reads the import options from query or form values.
func importRequestFrom(v url.Values) (geo.ImportRequest, error) {
	kind := v.Get("kind")
	var level geo.Level
	if kind != geo.KindBuildings {
		var err error
		if level, err = geo.ParseLevel(v.Get("level")); err != nil {
			return geo.ImportRequest{}, err
		}
	}
	req := geo.ImportRequest{Kind: kind, Level: level, AddressField: v.Get("address_field"), FloorsField: v.Get("floors_field"), UseField: v.Get("use_field"), Dept: v.Get("dept"), Name: v.Get("name"), FileName: v.Get("file_name"),
		SRS: v.Get("srs"), CodeField: v.Get("code_field"), NameField: v.Get("name_field"), ParentField: v.Get("parent_field"),
		HouseholdsField: v.Get("households_field"), PopulationField: v.Get("population_field"),
		Encoding: v.Get("encoding"), Table: v.Get("table"), Attribution: v.Get("attribution")}
	for _, b := range []struct {
		key string
		dst *bool
	}{{"dry_run", &req.DryRun}, {"allow_outside", &req.AllowOutside}, {"skip_bad", &req.SkipBad}} {
		if s := v.Get(b.key); s != "" {
			x, err := strconv.ParseBool(s)
			if err != nil {
				return req, geo.Errorf(geo.EINVALID, "%s=%q: use true or false", b.key, s)
			}
			*b.dst = x
		}
	}
	return req, nil
}

// handleUploadLayer answers POST /api/v1/layers: the file is streamed to
// disk (never held in memory), then imported as a job; 202 with the job.
// The body is the file itself (options in the query, file_name giving its
// type) or multipart/form-data with a "file" part and options as fields.
func (s *Server) handleUploadLayer(w http.ResponseWriter, r *http.Request) {
	limit := s.cfg.MaxUploadBytes
	if limit <= 0 {
		limit = defaultMaxUpload
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	values := r.URL.Query()
	var body io.Reader = r.Body
	ctype, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ctype == "multipart/form-data" {
		part, fields, err := fileFromMultipart(multipart.NewReader(r.Body, params["boundary"]))
		if err != nil {
			writeError(w, r, uploadError(err, limit))
			return
		}
		for k, vs := range fields {
			values[k] = vs
		}
		if values.Get("file_name") == "" {
			values.Set("file_name", part.FileName())
		}
		body = part
	}
	req, err := importRequestFrom(values)
	if err != nil {
		writeError(w, r, err)
		return
	}
	name := filepath.Base(req.FileName)
	if name == "." || name == "/" || name == "" {
		writeError(w, r, geo.Errorf(geo.EINVALID, "give the file's name (file_name=grids.zip): its extension says its format"))
		return
	}
	req.FileName = name
	f, err := os.CreateTemp(s.cfg.UploadDir, "gridd-upload-*-"+strings.ReplaceAll(name, "*", "_"))
	if err != nil {
		writeError(w, r, geo.WrapError(geo.EUNAVAILABLE, err, "cannot store the upload"))
		return
	}
	_, err = io.Copy(f, body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		writeError(w, r, uploadError(err, limit))
		return
	}
	job, err := s.deps.Importer.StartImport(r.Context(), f.Name(), req)
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/jobs/"+strconv.FormatInt(job.ID, 10))
	writeJSON(w, http.StatusAccepted, job)
}

// fileFromMultipart returns the "file" part, reading the other small
// fields that come before it.
func fileFromMultipart(mr *multipart.Reader) (*multipart.Part, url.Values, error) {
	fields := url.Values{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return nil, nil, geo.Errorf(geo.EINVALID, "the form has no \"file\" part: send the layer as file=@grids.zip")
		}
		if err != nil {
			return nil, nil, err
		}
		if part.FormName() == "file" {
			return part, fields, nil
		}
		v, err := io.ReadAll(io.LimitReader(part, 4096))
		if err != nil {
			return nil, nil, err
		}
		fields.Set(part.FormName(), string(v))
	}
}

func uploadError(err error, limit int64) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return geo.Errorf(geo.ETOOLARGE, "upload over %d MiB: split the layer or raise --max-upload-mb", limit>>20)
	}
	if geo.ErrorCode(err) != geo.EINTERNAL {
		return err
	}
	return geo.WrapError(geo.EINVALID, err, "upload interrupted")
}

// handleJob answers GET /api/v1/jobs/{id}.
func (s *Server) handleJob(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(mux.Vars(r)["id"], 10, 64)
	if err != nil || id <= 0 {
		writeError(w, r, geo.Errorf(geo.EINVALID, "job id %q is not a number", mux.Vars(r)["id"]))
		return
	}
	job, err := s.deps.Importer.Job(r.Context(), id)
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, job)
}
