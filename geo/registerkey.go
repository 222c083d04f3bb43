package geo

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// RegisterKey protects the register's personal data at rest (issue 13
// §4): residents' names, ID numbers, phones and birth dates are sealed
// with AES-256-GCM, and ID numbers are found again by an HMAC-SHA256
// keyed hash, so that the database alone (a dump, a backup, a standby)
// reveals nothing. The key lives outside the database (a file in the data
// directory or an environment variable); the database keeps only a check
// value, so that a load or a reveal with another key is refused instead
// of sealing half the register with one key and half with another.
//
// AES-GCM in Go rather than pgcrypto: the key never travels to the server
// in a query (where logs and pg_stat_statements could keep it), and
// sealing a million rows costs the client a second, not the database.
type RegisterKey struct {
	aead  cipher.AEAD
	hash  []byte // HMAC key of the ID-number hash
	check string // names the key without revealing it
}

// RegisterKeySize is the length of a register key in bytes.
const RegisterKeySize = 32

// NewRegisterKey returns a fresh random key, in the text form
// ParseRegisterKey reads.
func NewRegisterKey() (string, error) {
	b := make([]byte, RegisterKeySize)
	if _, err := rand.Read(b); err != nil {
		return "", WrapError(EINTERNAL, err, "read random bytes for the register key")
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// ParseRegisterKey reads a key written as base64 or hex (32 bytes).
func ParseRegisterKey(text string) (*RegisterKey, error) {
	text = strings.TrimSpace(text)
	master, err := base64.StdEncoding.DecodeString(text)
	if err != nil || len(master) != RegisterKeySize {
		if h, herr := hex.DecodeString(text); herr == nil {
			master, err = h, nil
		}
	}
	if err != nil || len(master) != RegisterKeySize {
		return nil, Errorf(EINVALID, "the register key is not %d bytes in base64 or hex: make one with 'gridd register key' or 'openssl rand -base64 32'", RegisterKeySize)
	}
	// Separate keys for sealing, hashing and checking, derived from the
	// one master key: a hash or the check value never helps with another.
	derive := func(purpose string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte("gridd register " + purpose))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("seal"))
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "register key")
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, WrapError(EINTERNAL, err, "register key")
	}
	return &RegisterKey{aead: aead, hash: derive("hash"), check: hex.EncodeToString(derive("check")[:8])}, nil
}

// Check names the key: the same key gives the same check value.
func (k *RegisterKey) Check() string { return k.check }

// HashID returns the keyed hash an ID number is found by.
func (k *RegisterKey) HashID(idNumber string) []byte {
	m := hmac.New(sha256.New, k.hash)
	m.Write([]byte(NormalizeIDNumber(idNumber)))
	return m.Sum(nil)
}

// Digest is a keyed hash of a record's parts, to tell a changed record
// from the same one without keeping a plain hash of personal data.
func (k *RegisterKey) Digest(parts ...string) []byte {
	m := hmac.New(sha256.New, k.hash)
	m.Write([]byte("digest"))
	for _, p := range parts {
		m.Write([]byte{0})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// Seal encrypts plain, bound to the record's id hash (so that a sealed
// value copied onto another resident's row does not open there).
func (k *RegisterKey) Seal(plain, bound []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plain)+k.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never on a working system; sealing without a nonce would be worse
	}
	return k.aead.Seal(nonce, nonce, plain, bound)
}

// Open decrypts what Seal sealed with the same bound.
func (k *RegisterKey) Open(sealed, bound []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, Errorf(EINTERNAL, "a sealed register record is too short")
	}
	plain, err := k.aead.Open(nil, sealed[:n], sealed[n:], bound)
	if err != nil {
		return nil, Errorf(ECONFLICT, "a register record does not open with this key: the register was sealed with another key (give the original with --register-key or GRIDD_REGISTER_KEY)")
	}
	return plain, nil
}
