package s3

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Defaults applied by Open and Create to zero Config fields.
const (
	DefaultTimeout    = 30 * time.Second
	DefaultMaxRetries = 5
	DefaultPartSize   = 16 << 20
	// MinPartSize is the smallest multipart part S3 accepts.
	MinPartSize = 5 << 20
)

// Config describes one bucket (and key prefix) holding a repository.
type Config struct {
	Endpoint string // host[:port], no scheme
	Bucket   string
	Prefix   string // key prefix inside the bucket, without leading or trailing '/'
	Region   string // empty: ask the server

	AccessKey    string
	SecretKey    string
	SessionToken string // optional, for temporary credentials

	TLS    bool   // https; ParseURL defaults it to true
	CAFile string // PEM file of extra trusted CAs (with TLS)
	Lookup string // bucket addressing: "auto" (default), "path" or "dns"

	Timeout    time.Duration // longest time a request may make no progress; 0: DefaultTimeout
	MaxRetries int           // attempts per request for transient errors; 0: DefaultMaxRetries
	PartSize   uint64        // multipart part size, at least MinPartSize; 0: DefaultPartSize
}

// Location returns the repository URL of cfg, without credentials.
func (cfg Config) Location() string {
	u := "s3://" + cfg.Endpoint + "/" + cfg.Bucket
	if cfg.Prefix != "" {
		u += "/" + cfg.Prefix
	}
	if !cfg.TLS {
		u += "?tls=false"
	}
	return u
}

// withDefaults validates cfg and fills in defaults.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Endpoint == "" {
		return cfg, errors.New("s3: missing endpoint")
	}
	if strings.Contains(cfg.Endpoint, "://") || strings.Contains(cfg.Endpoint, "/") {
		return cfg, fmt.Errorf("s3: endpoint %q must be host[:port] without scheme or path", cfg.Endpoint)
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return cfg, fmt.Errorf("s3: bucket %q: %w", cfg.Bucket, err)
	}
	if err := checkPrefix(cfg.Prefix); err != nil {
		return cfg, err
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return cfg, errors.New("s3: missing credentials (access key and secret key)")
	}
	if cfg.CAFile != "" && !cfg.TLS {
		return cfg, errors.New("s3: a CA file needs TLS")
	}
	switch cfg.Lookup {
	case "":
		cfg.Lookup = "auto"
	case "auto", "path", "dns":
	default:
		return cfg, fmt.Errorf("s3: lookup %q: want auto, path or dns", cfg.Lookup)
	}
	switch {
	case cfg.Timeout < 0:
		return cfg, fmt.Errorf("s3: negative timeout %s", cfg.Timeout)
	case cfg.Timeout == 0:
		cfg.Timeout = DefaultTimeout
	}
	switch {
	case cfg.MaxRetries < 0:
		return cfg, fmt.Errorf("s3: negative retry count %d", cfg.MaxRetries)
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	}
	switch {
	case cfg.PartSize == 0:
		cfg.PartSize = DefaultPartSize
	case cfg.PartSize < MinPartSize:
		return cfg, fmt.Errorf("s3: part size %d below the S3 minimum %d", cfg.PartSize, MinPartSize)
	}
	return cfg, nil
}

func checkPrefix(p string) error {
	if p == "" {
		return nil
	}
	if strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
		return fmt.Errorf("s3: prefix %q must not start or end with '/'", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("s3: prefix %q has an empty, '.' or '..' segment", p)
		}
	}
	return nil
}

// Credential environment variables, in the order ParseURL tries them.
var credentialEnv = [][2]string{
	{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
	{"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"},
	{"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"},
}

// ParseURL parses a repository URL of the form
//
//	s3://host[:port]/bucket[/prefix][?tls=false&ca=/path/ca.pem&lookup=path&region=us-east-1&timeout=30s&retries=5]
//
// Credentials come from the environment: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else
// MINIO_ROOT_USER/MINIO_ROOT_PASSWORD, else MINIO_ACCESS_KEY/MINIO_SECRET_KEY (and
// AWS_SESSION_TOKEN with the AWS pair). TLS is on unless tls=false.
func ParseURL(s string) (Config, error) {
	return parseURL(s, os.Getenv)
}

func parseURL(s string, getenv func(string) string) (Config, error) {
	var cfg Config
	u, err := url.Parse(s)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the raw URL may hold secrets; do not echo it
		}
		return cfg, fmt.Errorf("s3 URL: %w", err)
	}
	if u.Scheme != "s3" {
		return cfg, fmt.Errorf("s3 URL: scheme %q, want s3://host[:port]/bucket[/prefix]", u.Scheme)
	}
	if u.User != nil {
		return cfg, errors.New("s3 URL: credentials in the URL are not supported; " +
			"set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
	}
	if u.Opaque != "" || u.Host == "" {
		return cfg, errors.New("s3 URL: missing endpoint, want s3://host[:port]/bucket[/prefix]")
	}
	if u.Fragment != "" {
		return cfg, errors.New("s3 URL: unexpected #fragment")
	}
	if err := checkHost(u.Host); err != nil {
		return cfg, err
	}
	cfg.Endpoint = u.Host

	path := strings.TrimPrefix(u.Path, "/")
	bucket, prefix, _ := strings.Cut(path, "/")
	if bucket == "" {
		return cfg, fmt.Errorf("s3 URL: missing bucket after %s/", u.Host)
	}
	if err := s3utils.CheckValidBucketNameStrict(bucket); err != nil {
		return cfg, fmt.Errorf("s3 URL: bucket %q: %w", bucket, err)
	}
	cfg.Bucket = bucket
	cfg.Prefix = strings.TrimSuffix(prefix, "/")
	if err := checkPrefix(cfg.Prefix); err != nil {
		return cfg, fmt.Errorf("s3 URL: %w", err)
	}

	cfg.TLS = true
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return cfg, fmt.Errorf("s3 URL: options: %w", err)
	}
	for key, vals := range q {
		if len(vals) != 1 {
			return cfg, fmt.Errorf("s3 URL: option %q given %d times", key, len(vals))
		}
		v := vals[0]
		switch key {
		case "tls":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return cfg, fmt.Errorf("s3 URL: tls=%q: want true or false", v)
			}
			cfg.TLS = b
		case "ca":
			if v == "" {
				return cfg, errors.New("s3 URL: ca= needs a file path")
			}
			cfg.CAFile = v
		case "lookup":
			if v != "auto" && v != "path" && v != "dns" {
				return cfg, fmt.Errorf("s3 URL: lookup=%q: want auto, path or dns", v)
			}
			cfg.Lookup = v
		case "region":
			if v == "" {
				return cfg, errors.New("s3 URL: region= is empty")
			}
			cfg.Region = v
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return cfg, fmt.Errorf("s3 URL: timeout=%q: want a positive duration such as 30s", v)
			}
			cfg.Timeout = d
		case "retries":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return cfg, fmt.Errorf("s3 URL: retries=%q: want a positive integer", v)
			}
			cfg.MaxRetries = n
		default:
			return cfg, fmt.Errorf("s3 URL: unknown option %q (known: tls, ca, lookup, region, timeout, retries)", key)
		}
	}
	if cfg.CAFile != "" && !cfg.TLS {
		return cfg, errors.New("s3 URL: ca= given with tls=false")
	}

	found := false
	for _, pair := range credentialEnv {
		id, secret := getenv(pair[0]), getenv(pair[1])
		switch {
		case id == "" && secret == "":
			continue
		case id == "":
			return cfg, fmt.Errorf("s3: %s is set but %s is not", pair[1], pair[0])
		case secret == "":
			return cfg, fmt.Errorf("s3: %s is set but %s is not", pair[0], pair[1])
		}
		cfg.AccessKey, cfg.SecretKey = id, secret
		if pair[0] == "AWS_ACCESS_KEY_ID" {
			cfg.SessionToken = getenv("AWS_SESSION_TOKEN")
		}
		found = true
		break
	}
	if !found {
		return cfg, errors.New("s3: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY " +
			"(or MINIO_ROOT_USER and MINIO_ROOT_PASSWORD)")
	}
	return cfg, nil
}

func checkHost(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil { // no port
		host, port = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), ""
	}
	if host == "" {
		return fmt.Errorf("s3 URL: endpoint %q has no host", hostport)
	}
	if err == nil {
		n, perr := strconv.Atoi(port)
		if perr != nil || n < 1 || n > 65535 {
			return fmt.Errorf("s3 URL: endpoint %q: port %q is not in 1-65535", hostport, port)
		}
	}
	return nil
}
