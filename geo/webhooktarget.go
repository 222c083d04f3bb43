package geo

import (
	"net/netip"
	"net/url"
	"strings"
)

// WebhookTargets is the address policy of webhook deliveries. A webhook
// is a URL that anyone with the admin role can make the server call, so
// without a policy it is a way into the server's own network: its
// loopback services, the database, the cloud's metadata service (which
// hands out credentials), other hosts on private addresses. Such
// addresses are refused unless the operator allows them (gridd serve
// --webhook-allow CIDR), for receivers that really live inside.
//
// The zero value refuses every internal address and allows the public
// internet. The policy is checked when a webhook is subscribed (for
// literal addresses and localhost) and again on every connection a
// delivery makes, after DNS resolution, so a name that resolves — or is
// re-pointed later — to an internal address gets no further.
type WebhookTargets struct {
	allow []netip.Prefix
}

// refusedRange is a range of addresses refused by default and what to
// call it in an error.
type refusedRange struct {
	prefix netip.Prefix
	what   string
}

// refusedRanges are checked in order: the specific names (metadata) come
// before the ranges that contain them.
var refusedRanges = func() []refusedRange {
	var out []refusedRange
	for _, r := range []struct{ cidr, what string }{
		{"169.254.169.254/32", "cloud metadata service"},
		{"fd00:ec2::254/128", "cloud metadata service"},
		{"0.0.0.0/8", "unspecified (this-network)"},
		{"127.0.0.0/8", "loopback"},
		{"10.0.0.0/8", "private (RFC 1918)"},
		{"172.16.0.0/12", "private (RFC 1918)"},
		{"192.168.0.0/16", "private (RFC 1918)"},
		{"100.64.0.0/10", "carrier-grade NAT (RFC 6598)"},
		{"169.254.0.0/16", "link-local"},
		{"192.0.0.0/24", "IETF protocol assignment"},
		{"224.0.0.0/4", "multicast"},
		{"240.0.0.0/4", "reserved (or broadcast)"},
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"fc00::/7", "unique local (private)"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local"},
		{"ff00::/8", "multicast"},
	} {
		out = append(out, refusedRange{netip.MustParsePrefix(r.cidr), r.what})
	}
	return out
}()

// nat64 is the well-known NAT64 prefix: its addresses reach the IPv4
// address in their last 32 bits, which is what must be judged.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// ParseWebhookAllow reads the --webhook-allow values: CIDRs or single
// addresses, each value possibly a comma-separated list.
func ParseWebhookAllow(values []string) (WebhookTargets, error) {
	var t WebhookTargets
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil || a.Zone() != "" {
					return WebhookTargets{}, Errorf(EINVALID, "--webhook-allow %q: give a CIDR such as 10.20.0.0/16 or fd12::/48, or one address", s)
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			// An IPv4-mapped prefix (::ffff:10.0.0.0/104) means the IPv4
			// range: addresses are unmapped before they are compared.
			if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
			}
			t.allow = append(t.allow, p.Masked())
		}
	}
	return t, nil
}

// Allow returns the allowed ranges, for logs and messages.
func (t WebhookTargets) Allow() []netip.Prefix { return t.allow }

// Allowed reports whether a delivery may connect to a.
func (t WebhookTargets) Allowed(a netip.Addr) bool { return t.Refusal(a) == "" }

// Refusal says what kind of internal address a is when the policy
// refuses it ("loopback", "private (RFC 1918)"…), "" when it is allowed.
func (t WebhookTargets) Refusal(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("").Unmap()
	for _, p := range t.allow {
		if p.Contains(a) {
			return ""
		}
	}
	judged := a
	if nat64.Contains(a) {
		b := a.As16()
		judged = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	for _, r := range refusedRanges {
		if r.prefix.Contains(judged) {
			if judged != a {
				return r.what + " (through NAT64)"
			}
			return r.what
		}
	}
	return ""
}

// CheckURL checks a webhook URL when it is subscribed: an absolute http
// or https URL whose host, when it is an address (or localhost), the
// policy allows. Other names are resolved and checked at delivery.
func (t WebhookTargets) CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return Errorf(EINVALID, "webhook url %q: give an absolute http:// or https:// URL", raw)
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	var a netip.Addr
	switch {
	case host == "localhost" || strings.HasSuffix(host, ".localhost"): // RFC 6761: always loopback
		a = netip.MustParseAddr("127.0.0.1")
	default:
		if a, err = netip.ParseAddr(host); err != nil {
			return nil
		}
	}
	if what := t.Refusal(a); what != "" {
		return Errorf(EINVALID, "webhook url %q: %s is a %s address, refused so that webhooks cannot reach the server's own network; "+
			"use a public address, or start gridd serve with --webhook-allow %s (or a wider CIDR) to allow it", raw, u.Hostname(), what, allowHint(a))
	}
	return nil
}

// allowHint is the narrowest --webhook-allow value that allows a.
func allowHint(a netip.Addr) string {
	a = a.WithZone("").Unmap()
	return netip.PrefixFrom(a, a.BitLen()).String()
}

// RefusedAddress is the message of a delivery the policy refused after
// resolution, for the delivery's record.
func (t WebhookTargets) RefusedAddress(a netip.Addr) *Error {
	return Errorf(EFORBIDDEN, "refused: the webhook target resolved to %s, a %s address; allow it with gridd serve --webhook-allow %s if the receiver really lives there",
		a.WithZone("").Unmap(), t.Refusal(a), allowHint(a))
}
