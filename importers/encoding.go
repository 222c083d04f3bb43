package importers

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gridd/gridd/geo"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

// Chinese attribute text reaches gridd in three encodings: UTF-8 (QGIS,
// ArcGIS Pro, anything recent), GBK (ArcMap and Excel on Chinese Windows,
// code page 936) and GB18030 (GBK plus four-byte sequences for the rare
// characters of place names, such as 㙟, that GBK lacks). Decoding with the
// wrong one turns 社区 names into mojibake that still looks like text, which
// is worse than refusing the file, so every choice is checked against all
// the text before the first feature is returned.

// charset is a text encoding attributes can be decoded from.
type charset struct {
	name string            // for Info.Encoding and messages: "UTF-8", "GBK", "GB18030", "Big5", …
	enc  encoding.Encoding // nil for UTF-8
	gb   bool              // GBK family, decoded as GB18030, its superset
}

var (
	utf8Charset    = charset{name: "UTF-8"}
	gbkCharset     = charset{name: "GBK", enc: simplifiedchinese.GB18030, gb: true}
	gb18030Charset = charset{name: "GB18030", enc: simplifiedchinese.GB18030, gb: true}
)

// charsetAliases maps the names people and programs write (in --encoding,
// .cpg files and XML declarations) to charsets. Keys are lower case with
// spaces, dashes and underscores removed; code page numbers are the
// Windows ones ESRI writes into .cpg files.
var charsetAliases = map[string]charset{
	"utf8": utf8Charset, "65001": utf8Charset, "cp65001": utf8Charset, "unicode": utf8Charset,
	"gbk": gbkCharset, "936": gbkCharset, "cp936": gbkCharset, "ms936": gbkCharset, "windows936": gbkCharset,
	"xgbk": gbkCharset, "gb2312": gbkCharset, "gb231280": gbkCharset, "euccn": gbkCharset, "chinese": gbkCharset,
	"gb18030": gb18030Charset, "54936": gb18030Charset, "cp54936": gb18030Charset, "gb180302000": gb18030Charset, "gb180302005": gb18030Charset,
	"big5": {name: "Big5", enc: traditionalchinese.Big5}, "950": {name: "Big5", enc: traditionalchinese.Big5},
	"cp950": {name: "Big5", enc: traditionalchinese.Big5}, "big5hkscs": {name: "Big5", enc: traditionalchinese.Big5},
	"latin1": {name: "ISO-8859-1", enc: charmap.ISO8859_1}, "iso88591": {name: "ISO-8859-1", enc: charmap.ISO8859_1},
	"88591": {name: "ISO-8859-1", enc: charmap.ISO8859_1}, "l1": {name: "ISO-8859-1", enc: charmap.ISO8859_1},
	"1252": {name: "windows-1252", enc: charmap.Windows1252}, "cp1252": {name: "windows-1252", enc: charmap.Windows1252},
	"437": {name: "IBM437", enc: charmap.CodePage437}, "cp437": {name: "IBM437", enc: charmap.CodePage437},
	"850": {name: "IBM850", enc: charmap.CodePage850}, "cp850": {name: "IBM850", enc: charmap.CodePage850},
	"852": {name: "IBM852", enc: charmap.CodePage852}, "865": {name: "IBM865", enc: charmap.CodePage865},
	"866": {name: "IBM866", enc: charmap.CodePage866}, "874": {name: "windows-874", enc: charmap.Windows874},
	"932": {name: "Shift_JIS", enc: japanese.ShiftJIS}, "cp932": {name: "Shift_JIS", enc: japanese.ShiftJIS},
	"sjis": {name: "Shift_JIS", enc: japanese.ShiftJIS}, "shiftjis": {name: "Shift_JIS", enc: japanese.ShiftJIS},
	"949": {name: "EUC-KR", enc: korean.EUCKR}, "cp949": {name: "EUC-KR", enc: korean.EUCKR}, "euckr": {name: "EUC-KR", enc: korean.EUCKR},
}

// lookupCharset finds the charset called name. "ANSI", "OEM" and "system",
// which .cpg files sometimes hold, mean "whatever Windows was set to" and
// are reported as unknown.
func lookupCharset(name string) (charset, bool) {
	n := strings.ToLower(strings.TrimSpace(strings.Trim(strings.TrimSpace(name), `"'`)))
	key := strings.NewReplacer(" ", "", "-", "", "_", "").Replace(n)
	if c, ok := charsetAliases[key]; ok {
		return c, true
	}
	// "ANSI 936", "windows-1251", "CP1251": a code page number.
	for _, p := range []string{"ansi", "windows", "cp", "ms", "ibm", "oem"} {
		if rest, ok := strings.CutPrefix(key, p); ok && rest != "" {
			if c, ok := charsetAliases[rest]; ok {
				return c, true
			}
			if _, err := strconv.Atoi(rest); err == nil {
				key = rest
			}
			break
		}
	}
	if _, err := strconv.Atoi(key); err == nil {
		n = "windows-" + key
	}
	if e, err := htmlindex.Get(n); err == nil {
		cname, _ := htmlindex.Name(e)
		if cname == "utf-8" {
			return utf8Charset, true
		}
		if cname == "gbk" {
			return gbkCharset, true
		}
		if cname == "gb18030" {
			return gb18030Charset, true
		}
		return charset{name: cname, enc: e}, true
	}
	return charset{}, false
}

// textDecoder decodes values in one charset, reusing its decoder.
type textDecoder struct {
	cs  charset
	dec *encoding.Decoder
}

func (c charset) decoder() *textDecoder {
	d := &textDecoder{cs: c}
	if c.enc != nil {
		d.dec = c.enc.NewDecoder()
	}
	return d
}

// decode returns b as UTF-8 text and whether b was valid in the charset:
// x/text decoders put U+FFFD where bytes are invalid rather than failing,
// so a replacement character in the output is the sign. When the value
// fills its fixed-width field (full), a character cut in half by the width
// is dropped instead of failing the file: GDAL truncates a DBF value to the
// width in bytes, so the last character of a long UTF-8 name often is.
func (d *textDecoder) decode(b []byte, full bool) (string, bool) {
	s, ok := d.decode1(b)
	if ok || !full {
		return s, ok
	}
	for k := 1; k <= 3 && k < len(b); k++ {
		if s, ok := d.decode1(b[:len(b)-k]); ok {
			return s, true
		}
	}
	return s, false
}

func (d *textDecoder) decode1(b []byte) (string, bool) {
	if isASCII(b) {
		return string(b), true
	}
	if d.dec == nil {
		return string(b), utf8.Valid(b)
	}
	out, err := d.dec.Bytes(b)
	if err != nil {
		return "", false
	}
	s := string(out)
	return s, !strings.ContainsRune(s, utf8.RuneError)
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// hasGB4 reports whether b holds a four-byte GB18030 sequence (a lead byte
// followed by a digit), that is a character outside GBK.
func hasGB4(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] < 0x80 {
			continue
		}
		if i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '9' {
			return true
		}
		i++ // skip the trail byte of a two-byte character
	}
	return false
}

// textSniffer looks at every text value of a file before any is decoded
// for real, to tell which encodings decode all of it.
type textSniffer struct {
	declared *textDecoder // the encoding the user or the file names; nil if none
	utf8, gb *textDecoder
	spot     func(n int, field string) string // names a place in the file for messages

	nonASCII bool
	gbFour   bool
	// The first place where the text is invalid in each encoding; "" while
	// it is valid everywhere so far.
	badUTF8, badGB, badDeclared string
}

func newTextSniffer(declared *charset, spot func(n int, field string) string) *textSniffer {
	s := &textSniffer{utf8: utf8Charset.decoder(), gb: gb18030Charset.decoder(), spot: spot}
	if declared != nil && declared.enc != nil && !declared.gb {
		s.declared = declared.decoder()
	}
	return s
}

// add checks one value, found at record or line n in field.
func (s *textSniffer) add(b []byte, full bool, n int, field string) {
	if isASCII(b) {
		return
	}
	s.nonASCII = true
	if s.badUTF8 == "" {
		if _, ok := s.utf8.decode(b, full); !ok {
			s.badUTF8 = s.spot(n, field)
		}
	}
	if s.badGB == "" {
		if _, ok := s.gb.decode(b, full); !ok {
			s.badGB = s.spot(n, field)
		} else if !s.gbFour && hasGB4(b) {
			s.gbFour = true
		}
	}
	if s.declared != nil && s.badDeclared == "" {
		if _, ok := s.declared.decode(b, full); !ok {
			s.badDeclared = s.spot(n, field)
		}
	}
}

// bad returns where the text is invalid in c, "" if nowhere.
func (s *textSniffer) bad(c charset) string {
	switch {
	case c.enc == nil:
		return s.badUTF8
	case c.gb:
		return s.badGB
	}
	return s.badDeclared
}

// encodingHint is what a file and the user say about its encoding, in
// order of authority.
type encodingHint struct {
	option string // Options.Encoding
	bom    bool   // the text began with a UTF-8 byte-order mark
	cpg    string // contents of the shapefile's .cpg, "" if none
	ldid   byte   // DBF language driver byte, 0 if none
}

// declaration is what the user or the file says the encoding is.
type declaration struct {
	cs     *charset // nil when nothing is said
	source string   // for messages: "--encoding", "its .cpg file (\"UTF-8\")", …
	ldid   bool     // it is the DBF language driver byte speaking
	// weak marks a Western single-byte code page in the DBF header. Such a
	// code page decodes any bytes at all into Latin letters, so trusting it
	// over detection would turn GBK names into mojibake without an error;
	// it is used only when detection finds neither UTF-8 nor GB18030.
	weak bool
}

// declare returns the encoding the hint names, in order of authority.
func (h encodingHint) declare() (declaration, error) {
	if h.option != "" {
		cs, ok := lookupCharset(h.option)
		if !ok {
			return declaration{}, geo.Errorf(geo.EINVALID, "unknown encoding %q: use utf-8, gbk, gb18030, big5, latin1 or a Windows code page number such as 936", h.option)
		}
		return declaration{cs: &cs, source: "--encoding"}, nil
	}
	if h.bom {
		return declaration{cs: &utf8Charset, source: "its byte-order mark"}, nil
	}
	if line, _, _ := strings.Cut(strings.TrimPrefix(h.cpg, "\ufeff"), "\n"); strings.TrimSpace(line) != "" {
		if cs, ok := lookupCharset(line); ok {
			return declaration{cs: &cs, source: fmt.Sprintf("its .cpg file (%q)", printable(strings.TrimSpace(line)))}, nil
		}
	}
	if cp, ok := ldidCodePages[h.ldid]; ok {
		if cs, ok := lookupCharset(strconv.Itoa(cp)); ok {
			return declaration{cs: &cs, source: fmt.Sprintf("its language driver byte (0x%02X, code page %d)", h.ldid, cp),
				ldid: true, weak: !multiByteCodePage(cp)}, nil
		}
	}
	return declaration{}, nil
}

// ldidCodePages maps the DBF header's language driver ID (byte 29) to the
// Windows code page it stands for, after the table of the dBase/FoxPro
// drivers. 0x00 (none) and 0x57 (ArcGIS: "the system's ANSI code page",
// which says nothing about the machine that wrote the file) are absent on
// purpose: they fall through to detection.
var ldidCodePages = map[byte]int{
	0x01: 437, 0x02: 850, 0x03: 1252, 0x08: 865, 0x09: 437, 0x0A: 850, 0x0B: 437, 0x0D: 437, 0x0E: 850,
	0x0F: 437, 0x10: 850, 0x11: 437, 0x12: 850, 0x13: 932, 0x14: 850, 0x15: 437, 0x16: 850, 0x18: 437,
	0x19: 437, 0x1A: 850, 0x1B: 437, 0x1D: 850, 0x25: 850, 0x26: 866, 0x37: 850,
	0x4D: 936, 0x4E: 949, 0x4F: 950, 0x56: 932, 0x58: 1252, 0x59: 1252,
	0x64: 852, 0x65: 866, 0x66: 865, 0x6A: 737, 0x6B: 857,
	0x78: 950, 0x79: 949, 0x7A: 936, 0x7B: 932, 0x7C: 874, 0x7D: 1255, 0x7E: 1256,
	0xC8: 1250, 0xC9: 1251, 0xCA: 1254, 0xCB: 1253,
}

// multiByteCodePage reports whether cp is one of the East Asian double-byte
// code pages, whose byte patterns are specific enough to trust.
func multiByteCodePage(cp int) bool {
	return cp == 932 || cp == 936 || cp == 949 || cp == 950
}

// chooseCharset decides the encoding of a file from the hint and from what
// the sniffer saw in all its text. file names the file in messages.
//
// The order is: --encoding, a byte-order mark, the .cpg file, an East Asian
// language driver byte, then detection (all valid UTF-8 → UTF-8, else all
// valid GB18030 → GB18030), then a Western language driver byte. Whatever
// is chosen must decode every value, or the file is refused with a message
// saying which --encoding would work.
//
// One exception: text that is valid UTF-8 and not plain ASCII under a GBK
// language driver byte is read as UTF-8. GBK text is almost never valid
// UTF-8 (a few characters at most by chance), while tools that rewrite a
// DBF in UTF-8 often leave the driver byte as it was; the .cpg, which such
// tools do write, still takes precedence.
func chooseCharset(file string, d declaration, s *textSniffer) (charset, error) {
	if d.cs != nil && !d.weak {
		if d.ldid && d.cs.gb && s.nonASCII && s.badUTF8 == "" {
			return utf8Charset, nil
		}
		where := s.bad(*d.cs)
		if where == "" {
			return gbName(*d.cs, s), nil
		}
		return charset{}, geo.Errorf(geo.EINVALID, "%s: the text at %s is not valid %s, which %s says it is: %s",
			file, where, d.cs.name, d.source, suggestEncoding(s))
	}
	switch {
	case !s.nonASCII, s.badUTF8 == "":
		return utf8Charset, nil
	case s.badGB == "":
		return gb18030Charset, nil
	case d.cs != nil && s.bad(*d.cs) == "":
		return *d.cs, nil
	}
	return charset{}, geo.Errorf(geo.EINVALID, "%s: the text is neither UTF-8 (see %s) nor GB18030 (see %s): pass --encoding with the right one (e.g. big5, latin1)",
		file, s.badUTF8, s.badGB)
}

// gbName reports a GBK-declared file that uses characters outside GBK as
// GB18030, which is what it really is (and how it was decoded).
func gbName(c charset, s *textSniffer) charset {
	if c.gb && s.gbFour {
		return gb18030Charset
	}
	return c
}

// suggestEncoding says which --encoding would decode everything the
// sniffer saw.
func suggestEncoding(s *textSniffer) string {
	switch {
	case s.badUTF8 == "":
		return "the text is valid UTF-8: pass --encoding utf-8"
	case s.badGB == "":
		return "the text decodes as GB18030: pass --encoding gb18030"
	}
	return "it is neither UTF-8 nor GB18030 either: pass --encoding with the right one (e.g. big5, latin1)"
}
