package postgis

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gridd/gridd/geo"
	"github.com/jackc/pgx/v5"
)

// CreateImportJob records a queued import job.
func (db *DB) CreateImportJob(ctx context.Context, req geo.ImportRequest) (geo.ImportJob, error) {
	b, _ := json.Marshal(req)
	job := geo.ImportJob{State: geo.JobQueued, Request: req}
	err := db.Pool.QueryRow(ctx, `INSERT INTO import_jobs (request) VALUES ($1) RETURNING id, created_at`, b).Scan(&job.ID, &job.CreatedAt)
	if err != nil {
		return job, geo.WrapError(geo.EUNAVAILABLE, err, "record import job")
	}
	return job, nil
}

// SetImportJobRunning marks a job as running.
func (db *DB) SetImportJobRunning(ctx context.Context, id int64) error {
	_, err := db.Pool.Exec(ctx, `UPDATE import_jobs SET state = 'running' WHERE id = $1`, id)
	return err
}

// FinishImportJob records a job's report, or its error.
func (db *DB) FinishImportJob(ctx context.Context, id int64, rep *geo.ImportReport, jobErr error) error {
	var b []byte
	if rep != nil {
		b, _ = json.Marshal(rep)
	}
	state := geo.JobDone
	var msg, code *string
	if jobErr != nil {
		state = geo.JobFailed
		m, c := geo.ErrorMessage(jobErr), geo.ErrorCode(jobErr)
		if c == geo.EINTERNAL {
			m = jobErr.Error()
		}
		msg, code = &m, &c
	}
	_, err := db.Pool.Exec(ctx, `UPDATE import_jobs SET state = $2, report = $3, error = $4, error_code = $5, finished_at = now() WHERE id = $1`,
		id, state, b, msg, code)
	return err
}

// ImportJob returns one job.
func (db *DB) ImportJob(ctx context.Context, id int64) (geo.ImportJob, error) {
	var job geo.ImportJob
	var req, rep []byte
	err := db.Pool.QueryRow(ctx, `SELECT id, state, request, report, error, error_code, created_at, finished_at FROM import_jobs WHERE id = $1`, id).
		Scan(&job.ID, &job.State, &req, &rep, &job.Error, &job.ErrorCode, &job.CreatedAt, &job.FinishedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return job, geo.Errorf(geo.ENOTFOUND, "no import job %d", id)
	}
	if err != nil {
		return job, geo.WrapError(geo.EUNAVAILABLE, err, "import job %d", id)
	}
	json.Unmarshal(req, &job.Request)
	if rep != nil {
		job.Report = &geo.ImportReport{}
		json.Unmarshal(rep, job.Report)
	}
	return job, nil
}
