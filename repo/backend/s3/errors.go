package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/minio/minio-go/v7"

	"github.com/cairnbackup/cairn/repo/backend"
)

// ErrAccessDenied: the endpoint rejected the credentials or refused the operation.
var ErrAccessDenied = errors.New("access denied")

// classify maps an error of a request on object op ("load data/ab/ab12...") to the
// backend sentinels, naming the endpoint and bucket. ctx is the caller's context, w the
// request's watchdog (or nil).
func (b *Backend) classify(ctx context.Context, w *watchdog, op string, err error) error {
	return b.explain(ctx, w, "s3 "+b.cfg.Endpoint+"/"+b.cfg.Bucket+": "+op, err)
}

// explain is classify with the leading context spelled out by the caller:
// "<where>: [<detail>: ]<sentinel>[: <cause>]".
func (b *Backend) explain(ctx context.Context, w *watchdog, where string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", where, context.Cause(ctx))
	}
	if w != nil && w.stalled() {
		return fmt.Errorf("%s: no progress for %s: %w", where, b.cfg.Timeout, backend.ErrUnavailable)
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) && (er.Code != "" || er.StatusCode != 0) {
		return fmt.Errorf("%s: %s: %w", where, describe(er), sentinelFor(er))
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		verifyErr *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &unknownCA), errors.As(err, &verifyErr), errors.As(err, &hostErr):
		return fmt.Errorf("%s: TLS certificate not trusted (add ?ca=/path/ca.pem, or check the host name): %w", where, err)
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%s: the endpoint speaks plain HTTP (add ?tls=false): %w", where, err)
	case strings.Contains(err.Error(), "first record does not look like a TLS handshake"):
		return fmt.Errorf("%s: the endpoint does not speak TLS (add ?tls=false): %w", where, err)
	}
	// Anything else is transport-level: refused, reset, timed out, cut short.
	return fmt.Errorf("%s: %w: %w", where, backend.ErrUnavailable, err)
}

// describe renders an S3 error response without request ids or host names.
func describe(er minio.ErrorResponse) string {
	msg := er.Message
	if msg == "" {
		msg = http.StatusText(er.StatusCode)
	}
	if er.Code != "" {
		return er.Code + " (" + strings.TrimSuffix(msg, ".") + ")"
	}
	return fmt.Sprintf("HTTP %d (%s)", er.StatusCode, msg)
}

// sentinelFor picks the sentinel for an S3 error response.
func sentinelFor(er minio.ErrorResponse) error {
	switch er.Code {
	case "NoSuchKey", "NoSuchBucket", "NoSuchObject":
		return backend.ErrNotFound
	case "XMinioStorageFull", "StorageFull", "QuotaExceeded", "XMinioAdminBucketQuotaExceeded":
		return backend.ErrNoSpace
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken",
		"ExpiredToken", "AllAccessDisabled", "AccountProblem":
		return ErrAccessDenied
	case "SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
		"XMinioServerNotInitialized", "XMinioReadQuorum", "XMinioWriteQuorum":
		return backend.ErrUnavailable
	}
	switch s := er.StatusCode; {
	case s == http.StatusNotFound:
		return backend.ErrNotFound
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		return ErrAccessDenied
	case s == http.StatusInsufficientStorage:
		return backend.ErrNoSpace
	case s >= 500 || s == http.StatusTooManyRequests || s == http.StatusRequestTimeout:
		return backend.ErrUnavailable
	}
	return errS3
}

// isConditionFailed reports whether err is the answer to a conditional PUT whose name is
// taken (or, 409, being written concurrently by another conditional PUT).
func isConditionFailed(err error) (minio.ErrorResponse, bool) {
	var er minio.ErrorResponse
	if !errors.As(err, &er) {
		return er, false
	}
	switch {
	case er.Code == "PreconditionFailed", er.Code == "ConditionalRequestConflict",
		er.StatusCode == http.StatusPreconditionFailed, er.StatusCode == http.StatusConflict:
		return er, true
	}
	return er, false
}

// errS3 wraps S3 error responses that match no sentinel.
var errS3 = errors.New("request failed")
