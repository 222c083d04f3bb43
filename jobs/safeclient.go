package jobs

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"

	"github.com/gridd/gridd/geo"
)

// SafeClient returns the HTTP client of webhook deliveries: it connects
// only to addresses targets allows. The check runs in the dialer's
// Control hook, on the address each connection is actually made to,
// after DNS resolution, so a name that resolves (or is re-pointed, DNS
// rebinding) to an internal address is refused; checking the URL's name
// beforehand could not see that.
//
// It uses no proxy from the environment, since through a proxy the
// address connected to is the proxy's, and it does not follow
// redirects: a receiver's 3xx is a failed attempt, so a redirect cannot
// lead a delivery to an address the policy refuses.
func SafeClient(targets geo.WebhookTargets, timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout:   min(timeout, 10*time.Second),
		KeepAlive: 30 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return geo.Errorf(geo.EFORBIDDEN, "refused: cannot judge the webhook target address %q", address)
			}
			if !targets.Allowed(ap.Addr()) {
				return targets.RefusedAddress(ap.Addr())
			}
			return nil
		},
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          20,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// refused returns the policy's refusal in err's chain, nil when err is
// not one: a refused delivery is given up at once, not retried.
func refused(err error) *geo.Error {
	var ge *geo.Error
	if errors.As(err, &ge) && ge.Code == geo.EFORBIDDEN {
		return ge
	}
	return nil
}
