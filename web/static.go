package web

import (
	"errors"
	"io/fs"
	"net/http"
	"path"
	"strings"

	"github.com/gridd/gridd/geo"
)

// staticFiles serves the console's embedded files. What is not there —
// any unknown path, including the ones a traversal attempt cleans down
// to — is a JSON 404 like every other error, and only GET and HEAD read.
func staticFiles(assets fs.FS) http.Handler {
	files := http.FileServer(http.FS(assets))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, r, geo.Errorf(geo.EMETHOD, "%s %s: the console's files are only read (GET, HEAD)", r.Method, r.URL.Path))
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" {
			name = "."
		}
		st, err := fs.Stat(assets, name)
		if err == nil && st.IsDir() {
			_, err = fs.Stat(assets, path.Join(name, "index.html"))
		}
		if errors.Is(err, fs.ErrNotExist) || (err != nil && errors.Is(err, fs.ErrInvalid)) {
			writeError(w, r, geo.Errorf(geo.ENOTFOUND, "no such page or endpoint: %s", r.URL.Path))
			return
		}
		files.ServeHTTP(w, r)
	})
}
