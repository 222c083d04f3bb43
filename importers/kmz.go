package importers

import (
	"archive/zip"
	"io"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/gridd/gridd/geo"
)

// A KMZ is a zip of KML files and the images they use. GDAL's LIBKML
// driver and Google Earth write a doc.kml that holds only NetworkLinks to
// layers/NAME.kml inside the archive; those links are followed, one file
// after the other through the same reader. Links to anything outside the
// archive are never fetched: they are named if no polygon is found.

// openKMZ opens a .kmz.
func openKMZ(p string, opts Options) (Reader, error) {
	z, err := openZip(p, opts)
	if err != nil {
		return nil, err
	}
	r, err := kmzReader(z, opts)
	if err != nil {
		z.Close()
		return nil, err
	}
	return r, nil
}

// kmzReader reads the main KML of an open archive, the files it links to
// inside the archive and, when the main file has neither placemarks nor
// links, the archive's other KML files. The reader closes the archive.
func kmzReader(z *zipArchive, opts Options) (*kmlReader, error) {
	var kmls []*zip.File
	byName := map[string]*zip.File{}
	for _, f := range z.files {
		if strings.EqualFold(path.Ext(f.Name), ".kml") {
			kmls = append(kmls, f)
			byName[strings.ToLower(path.Clean(f.Name))] = f
		}
	}
	// GDAL stores entry names in CP437 and drops what does not fit, so
	// its layers/社区.kml is the entry "layers/.kml" while doc.kml links
	// the full name. A link that matches no entry is matched again with
	// such characters dropped on both sides, when that is unambiguous.
	for _, f := range kmls {
		k := "\x00" + asciiOnly(strings.ToLower(path.Clean(f.Name)))
		if _, dup := byName[k]; dup {
			byName[k] = nil
		} else {
			byName[k] = f
		}
	}
	if len(kmls) == 0 {
		return nil, geo.Errorf(geo.EINVALID, "%s holds no .kml file: it is not a KMZ; export the layer from Google Earth or your GIS again", z.name)
	}
	// The KML spec: the first .kml at the root, conventionally doc.kml.
	sort.SliceStable(kmls, func(i, j int) bool {
		di, dj := strings.Count(kmls[i].Name, "/"), strings.Count(kmls[j].Name, "/")
		if di != dj {
			return di < dj
		}
		return strings.EqualFold(path.Base(kmls[i].Name), "doc.kml") && !strings.EqualFold(path.Base(kmls[j].Name), "doc.kml")
	})
	queued := map[*zip.File]bool{kmls[0]: true}
	var queue []*zip.File
	cur := kmls[0]
	var rc io.ReadCloser
	var read []*zip.File // the size limit holds for all files read together
	open := func(f *zip.File) (io.ReadCloser, error) {
		read = append(read, f)
		if err := z.checkSizes(read...); err != nil {
			return nil, err
		}
		return z.open(f)
	}
	rc, err := open(cur)
	if err != nil {
		return nil, err
	}
	r := &kmlReader{maxV: opts.maxVertices(), info: Info{Format: "kmz", SRS: "EPSG:4326", Encoding: "UTF-8"}, types: map[string]string{}}
	r.setSource(rc, z.name+": "+displayZipName(cur.Name))
	r.link = func(href string) bool {
		f := kmzLinked(byName, path.Dir(cur.Name), href)
		if f == nil {
			return false
		}
		if !queued[f] {
			queued[f] = true
			queue = append(queue, f)
		}
		return true
	}
	mainOnly := true
	r.advance = func() (bool, error) {
		if mainOnly && r.n == 0 && r.found.followed == 0 && len(r.found.outside) == 0 {
			// Several KML files and no links: read them all.
			for _, f := range kmls[1:] {
				if !queued[f] {
					queued[f] = true
					queue = append(queue, f)
				}
			}
		}
		mainOnly = false
		if len(queue) == 0 {
			return false, nil
		}
		rc.Close()
		cur, queue = queue[0], queue[1:]
		next, err := open(cur)
		if err != nil {
			return false, err
		}
		rc = next
		r.setSource(rc, z.name+": "+displayZipName(cur.Name))
		return true, nil
	}
	r.closers = append(r.closers, closerFunc(func() error { return rc.Close() }), z)
	if err := r.lookAhead(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

type closerFunc func() error

func (c closerFunc) Close() error { return c() }

// kmzLinked resolves a NetworkLink href against the folder of the file
// holding it; it returns nil for a URL with a scheme or host, an absolute
// path, or a path that is not in the archive.
func kmzLinked(byName map[string]*zip.File, dir, href string) *zip.File {
	u, err := url.Parse(href)
	if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(u.Path, "/") || u.Path == "" {
		return nil
	}
	p := path.Clean(path.Join(dir, u.Path))
	if p == ".." || strings.HasPrefix(p, "../") {
		return nil
	}
	if f := byName[strings.ToLower(p)]; f != nil {
		return f
	}
	return byName["\x00"+asciiOnly(strings.ToLower(p))]
}

// asciiOnly drops the characters a CP437 zip name cannot hold.
func asciiOnly(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x80 || r == '?' {
			return -1
		}
		return r
	}, s)
}
