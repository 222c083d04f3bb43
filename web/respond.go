package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gridd/gridd/geo"
)

// statusOf is the one place where error codes become HTTP statuses.
func statusOf(code string) int {
	switch code {
	case geo.EINVALID:
		return http.StatusBadRequest
	case geo.ENOTFOUND:
		return http.StatusNotFound
	case geo.ECONFLICT:
		return http.StatusConflict
	case geo.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case geo.EFORBIDDEN:
		return http.StatusForbidden
	case geo.EMETHOD:
		return http.StatusMethodNotAllowed
	case geo.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case geo.ETOOMANY:
		return http.StatusTooManyRequests
	case geo.EEXPIRED:
		return http.StatusGone
	case geo.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// retryAfterUnavailable is the Retry-After of a 503, in seconds.
const retryAfterUnavailable = "2"

// errorBody is the JSON body of every API error.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// writeError answers with the error's status, in the one place where
// error codes become statuses: a JSON body, or Open311's own error list
// under /open311/. Internal errors are logged (but for requests turned
// away by load shedding, which would only add to the load) and their
// details kept from the caller.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := errorStatus(w, err)
	if status >= 500 && !errors.Is(err, context.Canceled) && !errors.Is(err, errShed) { // canceled: the caller has gone
		slog.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if strings.HasPrefix(r.URL.Path, "/open311/") {
		writeO311(w, o311Format(r), status, "errors", []o311Error{{Code: status, Description: geo.ErrorMessage(err)}})
		return
	}
	var body errorBody
	body.Error.Code = geo.ErrorCode(err)
	body.Error.Message = geo.ErrorMessage(err)
	writeJSON(w, status, body)
}

// errorStatus is the HTTP status of err; a 503 or 429 gets a Retry-After
// unless the caller set one.
func errorStatus(w http.ResponseWriter, err error) int {
	status := statusOf(geo.ErrorCode(err))
	if (status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests) && w.Header().Get("Retry-After") == "" {
		// The database restarts in seconds; a client that waits that long
		// before retrying does not add to the storm.
		w.Header().Set("Retry-After", retryAfterUnavailable)
	}
	return status
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}
