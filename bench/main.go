package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/cairnbackup/cairn/internal/miniotest"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// options are the parsed command-line flags.
type options struct {
	images    listFlag
	gens      listFlag
	sizes     []int64 // one input per generator and size
	rounds    int
	tools     []string
	backend   string
	workdir   string
	json      bool
	plot      string
	short     bool
	seed      uint64
	mutate    float64
	mutateRun int
	warm      bool
	keep      bool
	bins      map[string]string
	cairnKDF  string
	profile   string
	zonesDown int
	minioBin  string
}

// parseFlags parses args (without the program name).
func parseFlags(args []string, stderr io.Writer) (*options, error) {
	o := &options{bins: map[string]string{}}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Var(&o.images, "image", "volume image file to back up (repeatable); gen2 is a copy with --mutate % of blocks rewritten")
	fs.Var(&o.gens, "gen", "generated input kind (repeatable): "+kindList())
	size := fs.String("size", "256MiB", "size of generated inputs (e.g. 64MiB, 8GiB); a comma-separated list "+
		"(256MiB,1GiB,8GiB) runs every generator at every size and adds a peak-RSS-by-size table")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds per input (tool order rotates between rounds)")
	tools := fs.String("tools", "cairn,kopia,restic", "comma-separated tools to run")
	fs.StringVar(&o.backend, "backend", BackendLocal, "repository backend: local (a directory) or minio (six MinIO servers on 127.0.0.1: "+
		"cairn gets 4+2 erasure over all six, kopia and restic one bucket)")
	fs.IntVar(&o.zonesDown, "zones-down", 0, "with --backend minio: add a restore-degraded phase for cairn with this many of its six zones killed (0..2)")
	fs.StringVar(&o.minioBin, "minio", "", "MinIO server binary (default: $CAIRN_MINIO_BIN, else scripts/minio.sh)")
	fs.StringVar(&o.workdir, "workdir", filepath.Join(os.TempDir(), "cairn-bench"), "scratch directory (inputs are cached here)")
	fs.BoolVar(&o.json, "json", false, "print the raw results as JSON on stdout (the table goes to stderr)")
	fs.StringVar(&o.plot, "plot", "", "write an SVG bar chart of the cairn/peer time ratios to this file")
	fs.BoolVar(&o.short, "short", false, "one small round (32MiB mixed unless --gen/--image/--size given): what make bench runs")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the generated inputs and mutations")
	fs.Float64Var(&o.mutate, "mutate", 3, "percent of 4 KiB blocks (of files, for ext4) the second generation changes")
	fs.IntVar(&o.mutateRun, "mutate-run", 64, "longest run of consecutive 4 KiB blocks one in-place mutation rewrites")
	fs.BoolVar(&o.warm, "warm", false, "keep the page cache between phases (default: drop it for the source and repository)")
	fs.BoolVar(&o.keep, "keep", false, "keep every run's workspace (repositories, logs) under --workdir/runs")
	cairnBin := fs.String("cairn", "", "cairn binary (default: go build ./cmd/cairn into --workdir/bin)")
	kopiaBin := fs.String("kopia", "", "kopia binary (default: bench/peers/install.sh kopia)")
	resticBin := fs.String("restic", "", "restic binary (default: bench/peers/install.sh restic)")
	fs.StringVar(&o.cairnKDF, "cairn-kdf", "", "CAIRN_KDF for cairn, e.g. test (default: cairn's real key derivation, as the peers pay theirs)")
	fs.StringVar(&o.profile, "cairn-profile", "", "write Go CPU and allocation profiles and execution traces of cairn's commands to DIR/INPUT/roundN/PHASE "+
		"(cairn --profile-dir; read with 'go tool pprof' and 'go tool trace'); profiling slows cairn a little, so compare times from runs without it")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if o.short && !isSet(fs, "size") {
		*size = "32MiB"
	}
	if o.short && !isSet(fs, "rounds") {
		o.rounds = 1
	}
	for _, f := range strings.Split(*size, ",") {
		n, err := parseSize(strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		if n < 1<<20 {
			return nil, fmt.Errorf("--size %s: at least 1MiB", f)
		}
		if !slices.Contains(o.sizes, n) {
			o.sizes = append(o.sizes, n)
		}
	}
	if o.rounds < 1 {
		return nil, errors.New("--rounds must be at least 1")
	}
	if len(o.gens) == 0 && len(o.images) == 0 {
		o.gens = listFlag{string(KindMixed)}
	}
	for _, g := range o.gens {
		if _, err := parseKind(g); err != nil {
			return nil, err
		}
	}
	switch o.backend {
	case BackendLocal:
		if o.zonesDown != 0 {
			return nil, errors.New("--zones-down needs --backend minio")
		}
	case BackendMinio:
		if o.zonesDown < 0 || o.zonesDown > minioParity {
			return nil, fmt.Errorf("--zones-down %d: want 0..%d (the parity of cairn's %d+%d layout)", o.zonesDown, minioParity, minioData, minioParity)
		}
	default:
		return nil, fmt.Errorf("--backend %q: want %s or %s", o.backend, BackendLocal, BackendMinio)
	}
	if o.mutate < 0 || o.mutate > 100 {
		return nil, fmt.Errorf("--mutate %g: want 0..100", o.mutate)
	}
	for _, t := range strings.Split(*tools, ",") {
		if t = strings.TrimSpace(t); t != "" {
			if _, err := newTool(t, "", toolConfig{}); err != nil {
				return nil, err
			}
			o.tools = append(o.tools, t)
		}
	}
	if len(o.tools) == 0 {
		return nil, errors.New("--tools: none given")
	}
	o.bins["cairn"], o.bins["kopia"], o.bins["restic"] = *cairnBin, *kopiaBin, *resticBin
	return o, nil
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func kindList() string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return strings.Join(s, "|")
}

// specs turns the options into input specifications.
func (o *options) specs() []inputSpec {
	var out []inputSpec
	for _, g := range o.gens {
		for _, n := range o.sizes {
			out = append(out, inputSpec{kind: Kind(g), size: n, seed: o.seed, pct: o.mutate, maxRun: o.mutateRun})
		}
	}
	for _, img := range o.images {
		out = append(out, inputSpec{image: img, seed: o.seed, pct: o.mutate, maxRun: o.mutateRun})
	}
	return out
}

// moduleRoot finds the directory of cairn's go.mod, walking up from the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module github.com/cairnbackup/cairn\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the cairn module (run from the repository)")
		}
		dir = parent
	}
}

// resolveBinary returns the binary to run for tool, building it when not given.
func resolveBinary(ctx context.Context, tool, given, workdir string) (string, error) {
	if given != "" {
		return filepath.Abs(given)
	}
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	var cmd *exec.Cmd
	out := ""
	switch tool {
	case "cairn":
		out = filepath.Join(workdir, "bin", "cairn")
		cmd = exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/cairn")
	default:
		cmd = exec.CommandContext(ctx, "bash", filepath.Join("bench", "peers", "install.sh"), tool)
	}
	cmd.Dir = root
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("get %s binary (%s): %w", tool, strings.Join(cmd.Args, " "), err)
	}
	if out == "" {
		out = strings.TrimSpace(string(b))
	}
	return out, nil
}

// settings documents each tool's configuration in the JSON metadata.
func settings(tool, backend string) string {
	if backend != BackendMinio {
		return localSettings[tool]
	}
	return localSettings[tool] + "; object storage: " + minioSettings[tool]
}

var minioSettings = map[string]string{
	"cairn":  fmt.Sprintf("zones file, %d+%d erasure over %d MinIO servers, one fresh bucket per server (prefix repo), plain HTTP, zone defaults", minioData, minioParity, minioZones),
	"kopia":  "repository create s3 --disable-tls, one fresh bucket on one server (prefix kopia/)",
	"restic": "s3:http://HOST:PORT/BUCKET/restic, one fresh bucket on one server, default 5 connections",
}

var localSettings = map[string]string{
	"cairn":  "CLI defaults: zstd fastest, AES-256-GCM, FastCDC ~0.6 MiB chunks (256 KiB–4 MiB); real KDF unless --cairn-kdf",
	"kopia":  "filesystem repo; --object-splitter=" + kopiaSplitter + "; policy --compression=zstd-fastest; hash BLAKE2B-256-128, AES256-GCM-HMAC-SHA256 (defaults)",
	"restic": "repo v2, compression auto (zstd default), Rabin ~1 MiB chunks, 16 MiB packs (defaults); backup --no-scan --host bench FILE; restore latest:DIR",
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if o.workdir, err = filepath.Abs(o.workdir); err != nil {
		return err
	}
	if err := os.MkdirAll(o.workdir, 0o755); err != nil {
		return fmt.Errorf("workdir: %w", err)
	}
	rep := &Report{Meta: Meta{Started: time.Now().UTC(), GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, CPUs: runtime.NumCPU(), Rounds: o.rounds,
		Backend: o.backend, ZonesDown: o.zonesDown, ColdCache: !o.warm, Tools: map[string]ToolInfo{}}}
	h := &harness{workdir: o.workdir, rounds: o.rounds, cold: !o.warm, keep: o.keep,
		baseEnv: append(scrubEnv(os.Environ()),
			"XDG_CACHE_HOME="+filepath.Join(o.workdir, "xdg-cache"),
			"XDG_CONFIG_HOME="+filepath.Join(o.workdir, "xdg-config")),
		progress: stderr, zonesDown: o.zonesDown}
	if o.profile != "" {
		if h.profileDir, err = filepath.Abs(o.profile); err != nil {
			return err
		}
		rep.Meta.CairnProfile = h.profileDir
		fmt.Fprintf(stderr, "profiling cairn into %s: its times include the profiling overhead\n", h.profileDir)
	}
	for _, name := range o.tools {
		bin, err := resolveBinary(ctx, name, o.bins[name], o.workdir)
		if err != nil {
			return err
		}
		t, err := newTool(name, bin, toolConfig{cairnKDF: o.cairnKDF})
		if err != nil {
			return err
		}
		ver := t.Version(ctx, &execRunner{env: h.baseEnv}, newWorkspace(filepath.Join(o.workdir, "version")))
		rep.Meta.Tools[name] = ToolInfo{Binary: bin, Version: ver, Settings: settings(name, o.backend)}
		fmt.Fprintf(stderr, "%-7s %s (%s)\n", name, ver, bin)
		h.tools = append(h.tools, t)
	}
	for _, s := range o.specs() {
		in, err := prepareInput(ctx, o.workdir, s)
		if err != nil {
			return err
		}
		rep.Inputs = append(rep.Inputs, in)
	}
	if o.backend == BackendMinio {
		st, err := startMinioBackend(ctx, o.minioBin, filepath.Join(o.workdir, "minio"), stderr)
		if err != nil {
			return err
		}
		defer st.close()
		if !o.keep {
			defer os.RemoveAll(st.dir)
		}
		h.store = st
	}
	results, runErr := h.run(ctx, rep.Inputs)
	rep.Results = results
	rep.Summary = summarize(results)
	rep.Ratios = ratios(rep.Summary, rep.Results)
	rep.Degraded = degradedRatios(rep.Summary, o.zonesDown)
	tableOut := stdout
	if o.json {
		tableOut = stderr
		if err := writeJSON(stdout, rep); err != nil {
			return err
		}
	}
	if err := writeTable(tableOut, rep); err != nil {
		return err
	}
	if o.plot != "" {
		var buf bytes.Buffer
		title := fmt.Sprintf("cairn vs peers, %d round(s), %s backend", o.rounds, o.backend)
		if err := writeSVG(&buf, title, rep.Ratios, rep.Degraded, len(rep.Inputs) > 1); err != nil {
			return err
		}
		if err := os.WriteFile(o.plot, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("plot: %w", err)
		}
	}
	if runErr != nil {
		return runErr
	}
	for _, r := range results {
		if r.Status == StatusFailed {
			return errors.New("some phases failed (see above)")
		}
	}
	return nil
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// startMinioBackend finds the MinIO binary (building it if needed) and starts the servers
// under dir.
func startMinioBackend(ctx context.Context, bin, dir string, progress io.Writer) (*minioStore, error) {
	if bin == "" {
		var err error
		if bin, err = miniotest.FindBinary(ctx); err != nil {
			return nil, fmt.Errorf("minio binary: %w", err)
		}
	}
	start := time.Now()
	st, err := startMinio(ctx, bin, dir, minioZones)
	if err != nil {
		return nil, err
	}
	eps := make([]string, len(st.servers))
	for i, s := range st.servers {
		eps[i] = s.Endpoint()
	}
	fmt.Fprintf(progress, "minio   %d servers up in %s (%s): %s\n", len(eps), time.Since(start).Round(time.Millisecond), bin, strings.Join(eps, " "))
	return st, nil
}
