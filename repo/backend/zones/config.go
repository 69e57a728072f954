package zones

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/s3utils"
	"gopkg.in/yaml.v3"

	"github.com/cairnbackup/cairn/erasure"
	"github.com/cairnbackup/cairn/repo/backend/s3"
)

// ErrConfig marks every error in a zones file; the message names the zone at fault.
var ErrConfig = errors.New("zones config")

// Config is a parsed zones file: the erasure layout and one S3 bucket per zone.
type Config struct {
	// Source is the file the config came from ("" when parsed from bytes); it only
	// appears in Location.
	Source string
	// Layout is the erasure layout of packs (k data + m parity shards).
	Layout erasure.Layout
	// WriteQuorum is the number of shards a pack Save must store: k+1 when m > 0 (so a
	// write survives one more loss), k when m = 0, unless the file sets it (k..k+m).
	WriteQuorum int
	// Zones lists the zones in file order; shard placement depends on this order.
	Zones []ZoneConfig
}

// ZoneConfig is one zone: a name for messages and an S3 bucket (with prefix).
type ZoneConfig struct {
	Name string
	S3   s3.Config
}

// fileConfig mirrors the YAML document.
type fileConfig struct {
	Erasure struct {
		Data        *int `yaml:"data"`
		Parity      *int `yaml:"parity"`
		WriteQuorum int  `yaml:"write_quorum"`
	} `yaml:"erasure"`
	Zones []fileZone `yaml:"zones"`
}

type fileZone struct {
	Name         string `yaml:"name"`
	Endpoint     string `yaml:"endpoint"`
	Bucket       string `yaml:"bucket"`
	Prefix       string `yaml:"prefix"`
	AccessKeyEnv string `yaml:"access_key_env"`
	SecretKeyEnv string `yaml:"secret_key_env"`
	TLS          *bool  `yaml:"tls"`
	CAFile       string `yaml:"ca_file"`
	Lookup       string `yaml:"lookup"`
	Region       string `yaml:"region"`
	Timeout      string `yaml:"timeout"`
	MaxRetries   int    `yaml:"max_retries"`
}

// LoadConfig reads and validates a zones file. Credentials come from the environment
// variables the file names; a relative ca_file is relative to the file's directory.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	cfg, err := ParseConfig(data, os.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cfg.Source = path
	dir := filepath.Dir(path)
	for i := range cfg.Zones {
		if ca := cfg.Zones[i].S3.CAFile; ca != "" && !filepath.IsAbs(ca) {
			cfg.Zones[i].S3.CAFile = filepath.Join(dir, ca)
		}
	}
	return cfg, nil
}

// ParseConfig parses and validates a zones file; getenv resolves the credential variables.
// Unknown keys are errors. Every error wraps ErrConfig and names the zone it is about.
func ParseConfig(data []byte, getenv func(string) string) (*Config, error) {
	var fc fileConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&fc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty file", ErrConfig)
		}
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if fc.Erasure.Data == nil || fc.Erasure.Parity == nil {
		return nil, fmt.Errorf("%w: erasure: need both data and parity, e.g. erasure: {data: 4, parity: 2}", ErrConfig)
	}
	l := erasure.Layout{Data: *fc.Erasure.Data, Parity: *fc.Erasure.Parity}
	if l.Data < 1 || l.Parity < 0 {
		return nil, fmt.Errorf("%w: erasure %d+%d: want data >= 1 and parity >= 0", ErrConfig, l.Data, l.Parity)
	}
	if err := l.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if len(fc.Zones) == 0 {
		return nil, fmt.Errorf("%w: no zones", ErrConfig)
	}
	if l.Total() > len(fc.Zones) {
		return nil, fmt.Errorf("%w: erasure %v needs %d zones (one per shard), the file has %d", ErrConfig, l, l.Total(), len(fc.Zones))
	}
	cfg := &Config{Layout: l, WriteQuorum: DefaultWriteQuorum(l)}
	if q := fc.Erasure.WriteQuorum; q != 0 {
		if q < l.Data || q > l.Total() {
			return nil, fmt.Errorf("%w: write_quorum %d outside %d..%d (data..data+parity)", ErrConfig, q, l.Data, l.Total())
		}
		cfg.WriteQuorum = q
	}
	names := map[string]int{}
	places := map[string]string{}
	for i, z := range fc.Zones {
		zc, err := z.toConfig(getenv)
		if err != nil {
			label := z.Name
			if label == "" {
				label = "#" + strconv.Itoa(i+1)
			}
			return nil, fmt.Errorf("%w: zone %s: %w", ErrConfig, label, err)
		}
		if j, dup := names[zc.Name]; dup {
			return nil, fmt.Errorf("%w: zone %s: name used twice (zones #%d and #%d)", ErrConfig, zc.Name, j+1, i+1)
		}
		names[zc.Name] = i
		where := zc.S3.Endpoint + "/" + zc.S3.Bucket + "/" + zc.S3.Prefix
		if other, dup := places[where]; dup {
			return nil, fmt.Errorf("%w: zone %s: same endpoint, bucket and prefix as zone %s", ErrConfig, zc.Name, other)
		}
		places[where] = zc.Name
		cfg.Zones = append(cfg.Zones, zc)
	}
	return cfg, nil
}

// DefaultWriteQuorum is k+1 shards when the layout has parity, else k.
func DefaultWriteQuorum(l erasure.Layout) int {
	if l.Parity > 0 {
		return l.Data + 1
	}
	return l.Data
}

func (z fileZone) toConfig(getenv func(string) string) (ZoneConfig, error) {
	if err := checkZoneName(z.Name); err != nil {
		return ZoneConfig{}, err
	}
	if err := checkEndpoint(z.Endpoint); err != nil {
		return ZoneConfig{}, err
	}
	if err := s3utils.CheckValidBucketNameStrict(z.Bucket); err != nil {
		return ZoneConfig{}, fmt.Errorf("bucket %q: %w", z.Bucket, err)
	}
	if p := z.Prefix; p != "" && (strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") ||
		strings.Contains("/"+p+"/", "/../") || strings.Contains("/"+p+"/", "/./")) {
		return ZoneConfig{}, fmt.Errorf("prefix %q: no leading or trailing '/', no empty, '.' or '..' segments", p)
	}
	cred := func(field, env string) (string, error) {
		if env == "" {
			return "", fmt.Errorf("%s is missing (the name of the environment variable holding it)", field)
		}
		v := getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s: environment variable %s is not set", field, env)
		}
		return v, nil
	}
	ak, err := cred("access_key_env", z.AccessKeyEnv)
	if err != nil {
		return ZoneConfig{}, err
	}
	sk, err := cred("secret_key_env", z.SecretKeyEnv)
	if err != nil {
		return ZoneConfig{}, err
	}
	tls := true
	if z.TLS != nil {
		tls = *z.TLS
	}
	if z.CAFile != "" && !tls {
		return ZoneConfig{}, errors.New("ca_file needs tls: true")
	}
	switch z.Lookup {
	case "", "auto", "path", "dns":
	default:
		return ZoneConfig{}, fmt.Errorf("lookup %q: want auto, path or dns", z.Lookup)
	}
	var timeout time.Duration
	if z.Timeout != "" {
		if timeout, err = time.ParseDuration(z.Timeout); err != nil || timeout <= 0 {
			return ZoneConfig{}, fmt.Errorf("timeout %q: want a positive duration such as 30s", z.Timeout)
		}
	}
	if z.MaxRetries < 0 {
		return ZoneConfig{}, fmt.Errorf("max_retries %d: want >= 0", z.MaxRetries)
	}
	return ZoneConfig{Name: z.Name, S3: s3.Config{
		Endpoint: z.Endpoint, Bucket: z.Bucket, Prefix: z.Prefix, Region: z.Region,
		AccessKey: ak, SecretKey: sk, TLS: tls, CAFile: z.CAFile, Lookup: z.Lookup,
		Timeout: timeout, MaxRetries: z.MaxRetries,
	}}, nil
}

func checkZoneName(name string) error {
	if name == "" {
		return errors.New("name is missing")
	}
	if len(name) > 64 {
		return fmt.Errorf("name %q longer than 64 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("name %q: use letters, digits, '-', '_' and '.'", name)
		}
	}
	return nil
}

func checkEndpoint(ep string) error {
	if ep == "" {
		return errors.New("endpoint is missing")
	}
	if strings.Contains(ep, "://") || strings.ContainsAny(ep, "/?# ") {
		return fmt.Errorf("endpoint %q: want host[:port] without scheme or path", ep)
	}
	host := ep
	if strings.Contains(ep, ":") {
		h, port, err := net.SplitHostPort(ep)
		if err != nil {
			return fmt.Errorf("endpoint %q: %w", ep, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("endpoint %q: bad port %q", ep, port)
		}
		host = h
	}
	if host == "" {
		return fmt.Errorf("endpoint %q: missing host", ep)
	}
	return nil
}
