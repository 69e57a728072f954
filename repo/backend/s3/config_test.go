package s3

import (
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	awsEnv := map[string]string{"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s3cr3t"}
	tests := []struct {
		name    string
		url     string
		env     map[string]string
		want    Config
		wantErr string // substring of the error; "" means success
	}{
		{
			name: "full",
			url:  "s3://minio.local:9000/bucket/some/prefix?tls=false&lookup=path&region=eu-west-1&timeout=5s&retries=3",
			env:  awsEnv,
			want: Config{Endpoint: "minio.local:9000", Bucket: "bucket", Prefix: "some/prefix", Region: "eu-west-1",
				AccessKey: "AKID", SecretKey: "s3cr3t", TLS: false, Lookup: "path", Timeout: 5 * time.Second, MaxRetries: 3},
		},
		{
			name: "defaults",
			url:  "s3://s3.amazonaws.com/bucket",
			env:  awsEnv,
			want: Config{Endpoint: "s3.amazonaws.com", Bucket: "bucket", AccessKey: "AKID", SecretKey: "s3cr3t", TLS: true},
		},
		{
			name: "trailing slash and ca",
			url:  "s3://h:443/b-1/p/?ca=/etc/ca.pem",
			env:  awsEnv,
			want: Config{Endpoint: "h:443", Bucket: "b-1", Prefix: "p", AccessKey: "AKID", SecretKey: "s3cr3t", TLS: true, CAFile: "/etc/ca.pem"},
		},
		{
			name: "ipv6 endpoint",
			url:  "s3://[::1]:9000/bucket?tls=0",
			env:  awsEnv,
			want: Config{Endpoint: "[::1]:9000", Bucket: "bucket", AccessKey: "AKID", SecretKey: "s3cr3t"},
		},
		{
			name: "session token",
			url:  "s3://h/bucket",
			env:  map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T"},
			want: Config{Endpoint: "h", Bucket: "bucket", AccessKey: "A", SecretKey: "S", SessionToken: "T", TLS: true},
		},
		{
			name: "minio root credentials",
			url:  "s3://h/bucket",
			env:  map[string]string{"MINIO_ROOT_USER": "root", "MINIO_ROOT_PASSWORD": "pw", "MINIO_ACCESS_KEY": "x", "MINIO_SECRET_KEY": "y"},
			want: Config{Endpoint: "h", Bucket: "bucket", AccessKey: "root", SecretKey: "pw", TLS: true},
		},
		{
			name: "legacy minio credentials",
			url:  "s3://h/bucket",
			env:  map[string]string{"MINIO_ACCESS_KEY": "x", "MINIO_SECRET_KEY": "y"},
			want: Config{Endpoint: "h", Bucket: "bucket", AccessKey: "x", SecretKey: "y", TLS: true},
		},
		{name: "aws wins", url: "s3://h/bucket",
			env:  map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "MINIO_ROOT_USER": "root", "MINIO_ROOT_PASSWORD": "pw"},
			want: Config{Endpoint: "h", Bucket: "bucket", AccessKey: "A", SecretKey: "S", TLS: true}},

		{name: "no credentials", url: "s3://h/bucket", env: nil, wantErr: "no credentials"},
		{name: "half credentials", url: "s3://h/bucket", env: map[string]string{"AWS_ACCESS_KEY_ID": "A"}, wantErr: "AWS_SECRET_ACCESS_KEY is not"},
		{name: "half credentials other", url: "s3://h/bucket", env: map[string]string{"MINIO_ROOT_PASSWORD": "pw"}, wantErr: "MINIO_ROOT_USER is not"},
		{name: "wrong scheme", url: "http://h/bucket", env: awsEnv, wantErr: `scheme "http"`},
		{name: "no scheme", url: "h/bucket", env: awsEnv, wantErr: `scheme ""`},
		{name: "userinfo", url: "s3://AKID:supersecret@h/bucket", env: awsEnv, wantErr: "credentials in the URL"},
		{name: "missing host", url: "s3:///bucket", env: awsEnv, wantErr: "missing endpoint"},
		{name: "opaque", url: "s3:h/bucket", env: awsEnv, wantErr: "missing endpoint"},
		{name: "bad port", url: "s3://h:99999/bucket", env: awsEnv, wantErr: "port"},
		{name: "non-numeric port", url: "s3://h:abc/bucket", env: awsEnv, wantErr: "port"},
		{name: "missing bucket", url: "s3://h:9000", env: awsEnv, wantErr: "missing bucket"},
		{name: "missing bucket slash", url: "s3://h:9000/", env: awsEnv, wantErr: "missing bucket"},
		{name: "invalid bucket", url: "s3://h/Bad_Bucket", env: awsEnv, wantErr: `bucket "Bad_Bucket"`},
		{name: "double slash prefix", url: "s3://h/bucket/a//b", env: awsEnv, wantErr: "empty"},
		{name: "dotdot prefix", url: "s3://h/bucket/a/../b", env: awsEnv, wantErr: "'..'"},
		{name: "bad tls", url: "s3://h/bucket?tls=maybe", env: awsEnv, wantErr: `tls="maybe"`},
		{name: "bad lookup", url: "s3://h/bucket?lookup=magic", env: awsEnv, wantErr: `lookup="magic"`},
		{name: "empty ca", url: "s3://h/bucket?ca=", env: awsEnv, wantErr: "ca= needs"},
		{name: "ca without tls", url: "s3://h/bucket?ca=/x.pem&tls=false", env: awsEnv, wantErr: "tls=false"},
		{name: "empty region", url: "s3://h/bucket?region=", env: awsEnv, wantErr: "region"},
		{name: "bad timeout", url: "s3://h/bucket?timeout=soon", env: awsEnv, wantErr: `timeout="soon"`},
		{name: "negative timeout", url: "s3://h/bucket?timeout=-1s", env: awsEnv, wantErr: "timeout"},
		{name: "bad retries", url: "s3://h/bucket?retries=0", env: awsEnv, wantErr: "retries"},
		{name: "unknown option", url: "s3://h/bucket?colour=blue", env: awsEnv, wantErr: `unknown option "colour"`},
		{name: "repeated option", url: "s3://h/bucket?tls=true&tls=false", env: awsEnv, wantErr: "2 times"},
		{name: "fragment", url: "s3://h/bucket#frag", env: awsEnv, wantErr: "fragment"},
		{name: "bad escape", url: "s3://h/bucket/%zz", env: awsEnv, wantErr: "invalid URL escape"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseURL(tc.url, func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil {
					t.Fatalf("parseURL(%q) = %+v, want error containing %q", tc.url, got, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parseURL(%q) error %q, want it to contain %q", tc.url, err, tc.wantErr)
				}
				if strings.Contains(err.Error(), "supersecret") || strings.Contains(err.Error(), "s3cr3t") {
					t.Fatalf("error leaks a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseURL(%q): %v", tc.url, err)
			}
			if got != tc.want {
				t.Fatalf("parseURL(%q) =\n %+v\nwant\n %+v", tc.url, got, tc.want)
			}
		})
	}
}

func TestParseURLEnv(t *testing.T) {
	for _, k := range []string{"AWS_SESSION_TOKEN", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "envid")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "envsecret")
	cfg, err := ParseURL("s3://h/bucket")
	if err != nil || cfg.AccessKey != "envid" || cfg.SecretKey != "envsecret" {
		t.Fatalf("ParseURL = %+v, %v; want credentials from the environment", cfg, err)
	}
}

func TestConfigValidation(t *testing.T) {
	good := Config{Endpoint: "h:9000", Bucket: "bucket", AccessKey: "a", SecretKey: "s"}
	tests := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"ok", func(*Config) {}, ""},
		{"no endpoint", func(c *Config) { c.Endpoint = "" }, "missing endpoint"},
		{"scheme in endpoint", func(c *Config) { c.Endpoint = "http://h" }, "without scheme"},
		{"bad bucket", func(c *Config) { c.Bucket = "a" }, "bucket"},
		{"bad prefix", func(c *Config) { c.Prefix = "/a" }, "prefix"},
		{"no secret", func(c *Config) { c.SecretKey = "" }, "credentials"},
		{"ca without tls", func(c *Config) { c.CAFile = "/ca.pem" }, "needs TLS"},
		{"lookup", func(c *Config) { c.Lookup = "x" }, "lookup"},
		{"timeout", func(c *Config) { c.Timeout = -1 }, "timeout"},
		{"retries", func(c *Config) { c.MaxRetries = -1 }, "retry"},
		{"part size", func(c *Config) { c.PartSize = 1 << 20 }, "part size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.mod(&cfg)
			got, err := cfg.withDefaults()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.Timeout != DefaultTimeout || got.MaxRetries != DefaultMaxRetries || got.PartSize != DefaultPartSize || got.Lookup != "auto" {
					t.Fatalf("defaults not applied: %+v", got)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("withDefaults() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLocation(t *testing.T) {
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Endpoint: "h:9000", Bucket: "b", SecretKey: "hidden", TLS: true}, "s3://h:9000/b"},
		{Config{Endpoint: "h", Bucket: "b", Prefix: "x/y", SecretKey: "hidden"}, "s3://h/b/x/y?tls=false"},
	}
	for _, tc := range tests {
		if got := tc.cfg.Location(); got != tc.want {
			t.Errorf("Location() = %q, want %q", got, tc.want)
		}
	}
}
