package geo

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestRegisterKey(t *testing.T) {
	text, err := NewRegisterKey()
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParseRegisterKey(text)
	if err != nil {
		t.Fatal(err)
	}
	bound := k.HashID("33020319900307123x")
	if !bytes.Equal(bound, k.HashID(" 33020319900307123X ")) {
		t.Fatal("the hash of an ID number depends on case or spaces")
	}
	plain := []byte(`{"name":"王小明"}`)
	s1, s2 := k.Seal(plain, bound), k.Seal(plain, bound)
	if bytes.Equal(s1, s2) || bytes.Contains(s1, plain) {
		t.Fatal("sealing is deterministic or leaves the plain text")
	}
	got, err := k.Open(s1, bound)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: %q, %v", got, err)
	}
	if _, err := k.Open(s1, k.HashID("110101199003071234")); err == nil {
		t.Fatal("a sealed record opened under another resident's hash")
	}
	other, _ := NewRegisterKey()
	k2, _ := ParseRegisterKey(other)
	if _, err := k2.Open(s1, bound); err == nil || !strings.Contains(err.Error(), "another key") {
		t.Fatalf("another key: %v", err)
	}
	if k2.Check() == k.Check() || bytes.Equal(k2.HashID("x"), k.HashID("x")) {
		t.Fatal("two keys share a check value or a hash")
	}
	// hex works as well as base64; both name the same key.
	raw := bytes.Repeat([]byte{7}, RegisterKeySize)
	kh, err := ParseRegisterKey(hex.EncodeToString(raw))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("a", 63)} {
		if _, err := ParseRegisterKey(bad); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	if kh.Check() == "" || len(kh.Check()) != 16 {
		t.Fatalf("check %q", kh.Check())
	}
}
