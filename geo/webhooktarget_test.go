package geo

import (
	"net/netip"
	"strings"
	"testing"
)

func TestWebhookTargets(t *testing.T) {
	def := WebhookTargets{}
	lo, err := ParseWebhookAllow([]string{"127.0.0.0/8", "10.1.2.3, fd12:3456::/32", "::ffff:192.168.5.0/120"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		addr    string
		policy  WebhookTargets
		name    string
		refusal string // "" allowed; else a word of the refusal
	}{
		{"93.184.216.34", def, "public v4", ""},
		{"2606:4700::1111", def, "public v6", ""},
		{"127.0.0.1", def, "loopback", "loopback"},
		{"127.9.9.9", def, "loopback /8", "loopback"},
		{"::1", def, "v6 loopback", "loopback"},
		{"0.0.0.0", def, "unspecified v4", "unspecified"},
		{"::", def, "unspecified v6", "unspecified"},
		{"10.0.0.1", def, "rfc1918 10/8", "RFC 1918"},
		{"172.16.0.1", def, "rfc1918 172.16/12", "RFC 1918"},
		{"172.31.255.255", def, "rfc1918 top", "RFC 1918"},
		{"172.32.0.1", def, "beside 172.16/12", ""},
		{"192.168.1.1", def, "rfc1918 192.168/16", "RFC 1918"},
		{"100.64.0.1", def, "cgnat", "carrier-grade NAT"},
		{"100.128.0.1", def, "beside cgnat", ""},
		{"169.254.169.254", def, "aws/gcp metadata", "metadata"},
		{"169.254.10.10", def, "link-local v4", "link-local"},
		{"fe80::1%eth0", def, "link-local v6 with zone", "link-local"},
		{"fd00:ec2::254", def, "aws v6 metadata", "metadata"},
		{"fd12:3456::1", def, "ula", "unique local"},
		{"fc00::1", def, "ula fc", "unique local"},
		{"224.0.0.1", def, "multicast v4", "multicast"},
		{"ff02::1", def, "multicast v6", "multicast"},
		{"255.255.255.255", def, "broadcast", "broadcast"},
		{"::ffff:127.0.0.1", def, "v4-mapped loopback", "loopback"},
		{"::ffff:10.0.0.1", def, "v4-mapped private", "RFC 1918"},
		{"::ffff:8.8.8.8", def, "v4-mapped public", ""},
		{"64:ff9b::a00:1", def, "nat64 of 10.0.0.1", "NAT64"},
		{"64:ff9b::808:808", def, "nat64 of 8.8.8.8", ""},
		{"127.0.0.1", lo, "allowed loopback", ""},
		{"::ffff:127.0.0.1", lo, "allowed loopback, mapped", ""},
		{"::1", lo, "v6 loopback not in a v4 allow", "loopback"},
		{"10.1.2.3", lo, "allowed single address", ""},
		{"10.1.2.4", lo, "beside the single address", "RFC 1918"},
		{"fd12:3456:1::9", lo, "allowed ula", ""},
		{"192.168.5.7", lo, "allowed by a mapped prefix", ""},
		{"192.168.6.7", lo, "beside the mapped prefix", "RFC 1918"},
		{"169.254.169.254", lo, "metadata still refused", "metadata"},
	} {
		a := netip.MustParseAddr(tt.addr)
		got := tt.policy.Refusal(a)
		if (got == "") != (tt.refusal == "") || !strings.Contains(got, tt.refusal) {
			t.Errorf("%s: Refusal(%s) = %q, want %q", tt.name, tt.addr, got, tt.refusal)
		}
		if tt.policy.Allowed(a) != (tt.refusal == "") {
			t.Errorf("%s: Allowed(%s) = %v", tt.name, tt.addr, !(tt.refusal == ""))
		}
	}
	if (WebhookTargets{}).Allowed(netip.Addr{}) {
		t.Error("the zero Addr is allowed")
	}
}

func TestParseWebhookAllow(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string // the prefixes, or "error"
	}{
		{nil, ""},
		{[]string{"127.0.0.0/8"}, "127.0.0.0/8"},
		{[]string{"10.0.0.7/8"}, "10.0.0.0/8"}, // masked
		{[]string{"10.0.0.7"}, "10.0.0.7/32"},
		{[]string{"::1"}, "::1/128"},
		{[]string{"127.0.0.0/8,::1/128", " 10.2.0.0/16 "}, "127.0.0.0/8 ::1/128 10.2.0.0/16"},
		{[]string{"::ffff:10.0.0.0/104"}, "10.0.0.0/8"},
		{[]string{"localhost"}, "error"},
		{[]string{"10.0.0.0/33"}, "error"},
		{[]string{"fe80::1%eth0"}, "error"},
	} {
		p, err := ParseWebhookAllow(tt.in)
		if tt.want == "error" {
			if err == nil || ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "--webhook-allow") {
				t.Errorf("ParseWebhookAllow(%q) = %v, %v; want an invalid error naming the flag", tt.in, p.Allow(), err)
			}
			continue
		}
		var got []string
		for _, x := range p.Allow() {
			got = append(got, x.String())
		}
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("ParseWebhookAllow(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
}

func TestWebhookCheckURL(t *testing.T) {
	lo, _ := ParseWebhookAllow([]string{"127.0.0.0/8"})
	for _, tt := range []struct {
		url    string
		policy WebhookTargets
		ok     bool
	}{
		{"https://hooks.example.com/gridd", WebhookTargets{}, true}, // names are judged at delivery
		{"http://93.184.216.34:8080/x", WebhookTargets{}, true},
		{"http://10.0.0.1/", WebhookTargets{}, false},
		{"http://[::1]:9000/", WebhookTargets{}, false},
		{"http://[::ffff:169.254.169.254]/latest/meta-data", WebhookTargets{}, false},
		{"http://169.254.169.254/latest/meta-data", WebhookTargets{}, false},
		{"http://localhost:8080/", WebhookTargets{}, false},
		{"http://LOCALHOST./", WebhookTargets{}, false},
		{"http://app.localhost/", WebhookTargets{}, false},
		{"http://127.0.0.1:5000/", lo, true},
		{"http://localhost:5000/", lo, true},
		{"ftp://example.com/", WebhookTargets{}, false},
		{"/relative", WebhookTargets{}, false},
		{"http://:80/", WebhookTargets{}, false},
	} {
		err := tt.policy.CheckURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err != nil && ErrorCode(err) != EINVALID {
			t.Errorf("CheckURL(%q): code %s, want invalid", tt.url, ErrorCode(err))
		}
	}
	err := WebhookTargets{}.CheckURL("http://10.0.0.1/")
	if msg := err.Error(); !strings.Contains(msg, "private") || !strings.Contains(msg, "--webhook-allow 10.0.0.1/32") {
		t.Errorf("message %q: say what is wrong and how to allow it", msg)
	}
}
