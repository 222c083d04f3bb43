package importers

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/gridd/gridd/geo"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// Zip files are read in place: entries are streamed straight out of the
// archive (zip.Reader over the file as an io.ReaderAt), never extracted,
// so a hostile entry name cannot write anywhere. Names that try to are
// refused all the same, since no honest tool makes them.

// Entries that expand more than bombRatio times and to more than
// bombMinSize are refused as zip bombs. DEFLATE tops out near 1032:1 on
// runs of one byte; real shapefiles and KML compress 2–20 times (a DBF of
// mostly blank fields maybe 100), and a small entry cannot hurt whatever
// its ratio.
const (
	bombRatio   = 100
	bombMinSize = 100 << 20
)

// zipArchive is an open zip file with its entries checked.
type zipArchive struct {
	name   string // the archive, for messages
	zr     *zip.Reader
	closer io.Closer // the file under zr; nil when reading from memory
	max    int64     // limit on the uncompressed bytes read
	files  []*zip.File
}

// openZip opens the zip file at p.
func openZip(p string, opts Options) (*zipArchive, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "cannot open %s", p)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, geo.WrapError(geo.EINVALID, err, "cannot read %s", p)
	}
	z, err := newZipArchive(f, st.Size(), p, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	z.closer = f
	return z, nil
}

// newZipArchive reads the directory of a zip held by ra and refuses it if
// any entry name escapes the archive.
func newZipArchive(ra io.ReaderAt, size int64, name string, opts Options) (*zipArchive, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "%s is not a readable zip file (damaged or incomplete?)", name)
	}
	z := &zipArchive{name: name, zr: zr, max: opts.maxFileSize()}
	for _, f := range zr.File {
		if bad := unsafeZipName(f.Name); bad != "" {
			return nil, geo.Errorf(geo.EINVALID, "%s holds an entry named %q, %s: it is not a plain archive of a layer, so gridd refuses it; zip the files again", name, displayZipName(f.Name), bad)
		}
		if f.FileInfo().IsDir() || isJunkEntry(f.Name) {
			continue
		}
		z.files = append(z.files, f)
	}
	return z, nil
}

// unsafeZipName says why an entry name would escape the directory it was
// extracted to, or "" if it would not.
func unsafeZipName(n string) string {
	s := strings.ReplaceAll(n, `\`, "/")
	switch {
	case strings.HasPrefix(s, "/"):
		return "an absolute path"
	case len(s) >= 2 && s[1] == ':':
		return "a path with a drive letter"
	case strings.ContainsRune(s, 0):
		return "a name with a NUL byte"
	}
	for _, part := range strings.Split(s, "/") {
		if part == ".." {
			return "a path that climbs out of the archive (../)"
		}
	}
	return ""
}

// isJunkEntry reports entries macOS adds to every zip it makes.
func isJunkEntry(n string) bool {
	return strings.HasPrefix(n, "__MACOSX/") || strings.HasPrefix(path.Base(n), "._") || path.Base(n) == ".DS_Store"
}

// displayZipName turns an entry name into text for messages and --table
// matching. Zip tools on Chinese Windows store names in GBK without saying
// so; such a name is not valid UTF-8 but decodes as GB18030.
func displayZipName(n string) string {
	if utf8.ValidString(n) {
		return printable(n)
	}
	if s, err := simplifiedchinese.GB18030.NewDecoder().String(n); err == nil && !strings.ContainsRune(s, utf8.RuneError) {
		return printable(s)
	}
	return printable(strings.ToValidUTF8(n, "?"))
}

// checkSizes refuses entries that would expand past the limit together,
// or that look like zip bombs. archive/zip fails a read that goes past an
// entry's declared size, so the declared sizes can be trusted here.
func (z *zipArchive) checkSizes(files ...*zip.File) error {
	var total uint64
	for _, f := range files {
		if f == nil {
			continue
		}
		u, c := f.UncompressedSize64, f.CompressedSize64
		if u > bombMinSize && (c == 0 || u/c > bombRatio) {
			return geo.Errorf(geo.ETOOLARGE, "%s: entry %s would expand %s to %s, which looks like a zip bomb: unzip it yourself and import the files inside",
				z.name, displayZipName(f.Name), ratio(u, c), byteSize(int64(min(u, 1<<62))))
		}
		total += u
	}
	if total > uint64(z.max) {
		return geo.Errorf(geo.ETOOLARGE, "%s: the files to read would expand to %s, more than the limit of %s: split the layer into smaller files",
			z.name, byteSize(int64(min(total, 1<<62))), byteSize(z.max))
	}
	return nil
}

func ratio(u, c uint64) string {
	if c == 0 {
		return "from nothing"
	}
	return fmt.Sprintf("%d times", u/c)
}

// open streams one entry.
func (z *zipArchive) open(f *zip.File) (io.ReadCloser, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, geo.WrapError(geo.EINVALID, err, "%s: cannot read entry %s", z.name, displayZipName(f.Name))
	}
	return rc, nil
}

// Close closes the archive's file.
func (z *zipArchive) Close() error {
	if z.closer != nil {
		return z.closer.Close()
	}
	return nil
}

// zipReadError words an error met while streaming an entry: archive/zip
// reports a checksum mismatch or an entry longer than declared as
// zip.ErrChecksum or zip.ErrFormat.
func zipReadError(archive, entry string, err error) error {
	return geo.WrapError(geo.EINVALID, err, "%s: entry %s is damaged (its data does not match the zip directory)", archive, entry)
}
