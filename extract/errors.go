package extract

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors from Open and Source methods wrap one of these sentinels, so a
// command can map a failure to an exit code with errors.Is.
var (
	// ErrBadReference: the reference is malformed or ambiguous; the user must rewrite it.
	ErrBadReference = errors.New("bad image reference")
	// ErrImageNotFound: no such image, tag, digest, archive file or directory.
	ErrImageNotFound = errors.New("image not found")
	// ErrUnauthorized: the registry refused the credentials (or their absence).
	ErrUnauthorized = errors.New("not authorized")
	// ErrRegistryUnreachable: DNS, connection or TLS failure talking to the registry.
	ErrRegistryUnreachable = errors.New("registry unreachable")
	// ErrPlatformNotFound: a multi-platform index has no image for the requested platform.
	ErrPlatformNotFound = errors.New("platform not found")
)

// SourceError is a failure to open or read an image, in one line naming the
// reference, what kind of failure it is, the cause, and what the user can do.
type SourceError struct {
	Ref  string // the reference as the user wrote it
	Kind error  // one of the Err* sentinels above, or nil
	Err  error  // the cause
	Hint string // what the user can do about it, may be empty
}

func (e *SourceError) Error() string {
	var b strings.Builder
	b.WriteString(e.Ref)
	if e.Kind != nil {
		b.WriteString(": ")
		b.WriteString(e.Kind.Error())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(oneLine(e.Err.Error()))
	}
	if e.Hint != "" {
		b.WriteString(" (")
		b.WriteString(e.Hint)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap lets errors.Is find both the kind and anything in the cause.
func (e *SourceError) Unwrap() []error {
	var out []error
	if e.Kind != nil {
		out = append(out, e.Kind)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " ")
}

const (
	hintCreds    = "pass --creds USER:PASS, run docker login, or point REGISTRY_AUTH_FILE at a containers auth.json"
	hintInsecure = "if the registry serves plain HTTP or a self-signed certificate, pass --insecure"
)

// registryError classifies an error from go-containerregistry's remote
// package for ref. Errors that already carry a kind pass through.
func registryError(ref string, err error) error {
	if err == nil {
		return nil
	}
	var se *SourceError
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return &SourceError{Ref: ref, Err: err}
	}
	var te *transport.Error
	// A TLS server answers plain HTTP with a 400; that is a TLS mismatch,
	// not an answer from the registry.
	if errors.As(err, &te) && !strings.Contains(te.Error(), "HTTP request to an HTTPS server") {
		clean := &cleanError{msg: describeTransport(te), err: err}
		switch {
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden ||
			hasCode(te, transport.UnauthorizedErrorCode, transport.DeniedErrorCode):
			return &SourceError{Ref: ref, Kind: ErrUnauthorized, Err: clean, Hint: hintCreds}
		case te.StatusCode == http.StatusNotFound ||
			hasCode(te, transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode, transport.BlobUnknownErrorCode):
			return &SourceError{Ref: ref, Kind: ErrImageNotFound, Err: clean}
		case te.StatusCode == http.StatusTooManyRequests || te.StatusCode == http.StatusRequestTimeout || te.StatusCode >= 500:
			return &SourceError{Ref: ref, Kind: ErrRegistryUnreachable, Err: clean, Hint: "the registry kept failing after retries; try again later"}
		}
		return &SourceError{Ref: ref, Err: clean}
	}
	if isTLSMismatch(err) {
		return &SourceError{Ref: ref, Kind: ErrRegistryUnreachable, Err: err, Hint: hintInsecure}
	}
	var stall stallError
	if errors.As(err, &stall) {
		return &SourceError{Ref: ref, Kind: ErrRegistryUnreachable, Err: err, Hint: "the download stalled; try again"}
	}
	var netErr net.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) || errors.As(err, &opErr) || errors.As(err, &netErr) ||
		errors.Is(err, context.DeadlineExceeded) {
		return &SourceError{Ref: ref, Kind: ErrRegistryUnreachable, Err: err,
			Hint: "check the host name and port, and your network"}
	}
	return &SourceError{Ref: ref, Err: err}
}

// describeTransport says what the registry answered, without the
// diagnostics' free-form detail maps.
func describeTransport(te *transport.Error) string {
	if len(te.Errors) == 0 {
		return te.Error()
	}
	var b strings.Builder
	if te.Request != nil {
		fmt.Fprintf(&b, "%s %s: ", te.Request.Method, te.Request.URL.Redacted())
	}
	fmt.Fprintf(&b, "HTTP %d", te.StatusCode)
	for _, d := range te.Errors {
		fmt.Fprintf(&b, ", %s: %s", d.Code, d.Message)
	}
	return b.String()
}

// cleanError shows a shorter message but keeps the cause for errors.Is/As.
type cleanError struct {
	msg string
	err error
}

func (c *cleanError) Error() string { return c.msg }
func (c *cleanError) Unwrap() error { return c.err }

func hasCode(te *transport.Error, codes ...transport.ErrorCode) bool {
	for _, d := range te.Errors {
		for _, c := range codes {
			if d.Code == c {
				return true
			}
		}
	}
	return false
}

// isTLSMismatch reports a certificate that does not verify, or one side
// speaking TLS while the other speaks plain HTTP.
func isTLSMismatch(err error) bool {
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	var header tls.RecordHeaderError
	if errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &header) {
		return true
	}
	// net/http reports these as plain strings.
	s := err.Error()
	return strings.Contains(s, "server gave HTTP response to HTTPS client") ||
		strings.Contains(s, "HTTP request to an HTTPS server") ||
		strings.Contains(s, "first record does not look like a TLS handshake")
}

// fileError classifies a failure to open a local archive, layout or directory.
func fileError(ref string, err error) error {
	var se *SourceError
	if errors.As(err, &se) {
		return err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return &SourceError{Ref: ref, Kind: ErrImageNotFound, Err: err}
	}
	return &SourceError{Ref: ref, Err: err}
}

// badRef reports a malformed or ambiguous reference.
func badRef(ref, format string, args ...any) error {
	return &SourceError{Ref: ref, Kind: ErrBadReference, Err: fmt.Errorf(format, args...)}
}
