// Package s2i runs seshat inside a Source-to-Image builder image, as the
// first half of its assemble step: it reads the application's requirements
// from /tmp/src, advises a lockfile for the builder itself (its Python, its
// glibc, what its environment already has) and leaves it where the builder's
// stock assemble script looks, then hands over to that script.
//
// It does not install anything: installing stays the stock script's job, so
// an application builds the same way with or without seshat, only from a
// lockfile that fits. Resolving is done by the caller's AdviseFunc (the
// `seshat advise` command), so this package only decides what to ask for.
package s2i

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/seshat-dev/seshat/advise/reqfile"
)

// Defaults of an sclorg builder image.
const (
	DefaultSrc     = "/tmp/src"
	DefaultScripts = "/usr/libexec/s2i"
	DefaultRoot    = "/"
)

// AdviseFunc runs `seshat advise` with args (the words after "advise"),
// writing what it prints to stdout and stderr.
type AdviseFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) error

// ExecFunc replaces the current process with argv0 (syscall.Exec's shape).
type ExecFunc func(argv0 string, argv []string, env []string) error

// Option configures Assemble.
type Option func(*config)

type config struct {
	root, src, scripts string
	env                []string
	exec               ExecFunc
	stdout, stderr     io.Writer
}

// WithRoot sets the root filesystem analyzed (default "/": the builder the
// step runs in).
func WithRoot(dir string) Option { return func(c *config) { c.root = dir } }

// WithSrc sets the application source directory (default /tmp/src).
func WithSrc(dir string) Option { return func(c *config) { c.src = dir } }

// WithScripts sets the directory of the stock S2I scripts (default
// $STI_SCRIPTS_PATH, else /usr/libexec/s2i).
func WithScripts(dir string) Option { return func(c *config) { c.scripts = dir } }

// WithEnv sets the environment read for the SESHAT_* settings and handed to
// the stock assemble (default os.Environ()).
func WithEnv(env []string) Option { return func(c *config) { c.env = env } }

// WithExec replaces syscall.Exec, for tests that must not lose their process.
func WithExec(f ExecFunc) Option { return func(c *config) { c.exec = f } }

// WithOutput sets where messages (stderr) and a dry run's lock (stdout) go.
func WithOutput(stdout, stderr io.Writer) Option {
	return func(c *config) { c.stdout, c.stderr = stdout, stderr }
}

// Settings are the SESHAT_* environment variables of the assemble step.
type Settings struct {
	Advise        bool   // SESHAT_ADVISE (default true): false hands over at once.
	DryRun        bool   // SESHAT_DRY_RUN: print the lock, keep the app's files.
	ErrorFallback bool   // SESHAT_ERROR_FALLBACK: a failed advise warns instead of failing the build.
	Format        string // SESHAT_FORMAT: requirements, pipfile-lock or pylock.
	// RecommendationType is SESHAT_RECOMMENDATION_TYPE, "" for advise's default.
	RecommendationType string
	// Prescriptions are the directories of SESHAT_PRESCRIPTIONS (split on ':').
	Prescriptions []string
	// IndexURL and ExtraIndexURLs are pip's PIP_INDEX_URL and
	// PIP_EXTRA_INDEX_URL, so seshat asks the index the stock step installs from.
	IndexURL       string
	ExtraIndexURLs []string
	// CacheDir is SESHAT_CACHE_DIR, "" for a temporary directory removed
	// after the advise (a builder's HOME is the app directory, whose
	// contents end up in the image).
	CacheDir string
}

// ParseSettings reads the settings from an environment (KEY=VALUE entries).
func ParseSettings(env []string) (Settings, error) {
	get := lookup(env)
	s := Settings{Advise: true}
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"SESHAT_ADVISE", &s.Advise}, {"SESHAT_DRY_RUN", &s.DryRun}, {"SESHAT_ERROR_FALLBACK", &s.ErrorFallback}} {
		v, ok := get(b.name)
		if !ok || v == "" {
			continue
		}
		switch strings.ToLower(v) {
		case "1", "true", "yes", "on":
			*b.dst = true
		case "0", "false", "no", "off":
			*b.dst = false
		default:
			return s, fmt.Errorf("%s=%q: want 1 or 0", b.name, v)
		}
	}
	s.Format, _ = get("SESHAT_FORMAT")
	if s.Format == "" {
		s.Format = "requirements"
		// The stock sclorg assemble switches to pipenv/micropipenv when these
		// are set to anything at all (`[[ ! -z "$ENABLE_PIPENV" ]]`), and
		// then installs Pipfile.lock, so that is what must be written.
		if v, _ := get("ENABLE_PIPENV"); v != "" {
			s.Format = "pipfile-lock"
		}
		if v, _ := get("ENABLE_MICROPIPENV"); v != "" {
			s.Format = "pipfile-lock"
		}
	}
	if _, ok := lockNames[s.Format]; !ok {
		return s, fmt.Errorf("SESHAT_FORMAT=%q: want requirements, pipfile-lock or pylock", s.Format)
	}
	s.RecommendationType, _ = get("SESHAT_RECOMMENDATION_TYPE")
	if v, _ := get("SESHAT_PRESCRIPTIONS"); v != "" {
		for _, d := range strings.Split(v, ":") {
			if d != "" {
				s.Prescriptions = append(s.Prescriptions, d)
			}
		}
	}
	s.IndexURL, _ = get("PIP_INDEX_URL")
	if v, _ := get("PIP_EXTRA_INDEX_URL"); v != "" {
		s.ExtraIndexURLs = strings.Fields(v) // pip splits it on whitespace
	}
	s.CacheDir, _ = get("SESHAT_CACHE_DIR")
	return s, nil
}

// lockNames is the file each format is written to, where the stock
// assemble looks for it.
var lockNames = map[string]string{
	"requirements": "requirements.txt",
	"pipfile-lock": "Pipfile.lock",
	"pylock":       "pylock.toml",
}

// Assemble advises a lockfile for the application in the source directory,
// then execs the stock assemble script. It returns only on failure (or when
// the ExecFunc returns, in tests).
func Assemble(ctx context.Context, advise AdviseFunc, opts ...Option) error {
	c := config{root: DefaultRoot, src: DefaultSrc, env: os.Environ(), exec: syscall.Exec, stdout: os.Stdout, stderr: os.Stderr}
	for _, o := range opts {
		o(&c)
	}
	if c.scripts == "" {
		c.scripts = DefaultScripts
		if v, _ := lookup(c.env)("STI_SCRIPTS_PATH"); v != "" {
			// s2i sets it to where it put the scripts, maybe with an image: prefix.
			c.scripts = strings.TrimPrefix(v, "image://")
		}
	}
	stock := filepath.Join(c.scripts, "assemble")
	// Fail before spending minutes on an advise whose result nothing would install.
	if fi, err := os.Stat(stock); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("the stock assemble script %s is missing or not executable; set STI_SCRIPTS_PATH (or --scripts) to the builder's S2I scripts directory", stock)
	}
	s, err := ParseSettings(c.env)
	if err != nil {
		return fmt.Errorf("s2i assemble: %w", err)
	}
	if s.Advise {
		if err := adviseApp(ctx, advise, &c, &s); err != nil {
			if !s.ErrorFallback {
				return fmt.Errorf("%w\nseshat: the build stops here; set SESHAT_ERROR_FALLBACK=1 to build with the application's own files instead, or SESHAT_ADVISE=0 to skip seshat", err)
			}
			fmt.Fprintf(c.stderr, "seshat: warning: %v\nseshat: SESHAT_ERROR_FALLBACK=1: building with the application's own files\n", err)
		}
	} else {
		fmt.Fprintln(c.stderr, "seshat: SESHAT_ADVISE=0: running the stock assemble as it is")
	}
	fmt.Fprintf(c.stderr, "seshat: running %s\n", stock)
	if err := c.exec(stock, []string{stock}, c.env); err != nil {
		return fmt.Errorf("running the stock assemble %s: %w", stock, err)
	}
	return nil
}

// adviseApp finds the application's input and runs the advise for it.
func adviseApp(ctx context.Context, advise AdviseFunc, c *config, s *Settings) error {
	input, err := reqfile.Discover(c.src)
	if err != nil {
		if errors.Is(err, reqfile.ErrNotFound) {
			fmt.Fprintf(c.stderr, "seshat: %s has no Pipfile, pyproject.toml, requirements.in or requirements.txt: nothing to advise\n", c.src)
			return nil
		}
		return fmt.Errorf("looking for the application's requirements in %s: %w", c.src, err)
	}
	args, err := adviseArgs(c, s, input)
	if err != nil {
		return err
	}
	if s.CacheDir == "" {
		dir, err := os.MkdirTemp("", "seshat-s2i-cache-")
		if err != nil {
			return fmt.Errorf("making a cache directory for the advise: %w", err)
		}
		defer os.RemoveAll(dir)
		args = append(args, "--cache-dir", dir)
	} else {
		args = append(args, "--cache-dir", s.CacheDir)
	}
	out := filepath.Join(c.src, lockNames[s.Format])
	if s.DryRun {
		fmt.Fprintf(c.stderr, "seshat: SESHAT_DRY_RUN=1: the lock advised for %s follows; the build installs the application's own files\n", input)
	} else {
		args = append(args, "-o", out)
	}
	fmt.Fprintf(c.stderr, "seshat: advising %s for the builder (%s): seshat advise %s\n", input, c.root, strings.Join(args, " "))
	if err := advise(ctx, args, c.stdout, c.stderr); err != nil {
		return fmt.Errorf("advising %s for %s: %w", input, c.root, err)
	}
	if !s.DryRun {
		fmt.Fprintf(c.stderr, "seshat: wrote %s\n", out)
	}
	return nil
}

// adviseArgs is the `seshat advise` command line for one input.
func adviseArgs(c *config, s *Settings, input string) ([]string, error) {
	args := []string{"--root", c.root}
	switch base := filepath.Base(input); {
	case base == "Pipfile":
		args = append(args, "--pipfile", input)
	case base == "pyproject.toml":
		args = append(args, "--pyproject", input)
	default:
		args = append(args, "-r", input)
	}
	// The stock step installs with the pip first on PATH; lock for that
	// interpreter and the environment it installs into (a venv such as
	// /opt/app-root), not whichever python3 a default PATH would find.
	if py := pythonOnPath(c.root, c.env); py != "" {
		args = append(args, "--python", py)
	}
	args = append(args, "--format", s.Format)
	if s.RecommendationType != "" {
		args = append(args, "--recommendation-type", s.RecommendationType)
	}
	for _, d := range s.Prescriptions {
		args = append(args, "--prescriptions", d)
	}
	// pip lets an --index-url line of the requirements file win over
	// PIP_INDEX_URL; seshat advise does the same when given no --index-url,
	// so the variable is passed only for an input that names no index.
	if s.IndexURL != "" || len(s.ExtraIndexURLs) > 0 {
		in, err := reqfile.Load(input)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", input, err)
		}
		if s.IndexURL != "" && !namesIndex(input, in.Indexes) {
			args = append(args, "--index-url", s.IndexURL)
		}
		for _, u := range s.ExtraIndexURLs {
			args = append(args, "--extra-index-url", u)
		}
	}
	return args, nil
}

// namesIndex tells whether the input itself names an index. A Pipfile
// without [[source]] reads as naming PyPI (pipenv's default); there the
// builder's PIP_INDEX_URL, often a mirror, is what the build means.
func namesIndex(input string, idx []reqfile.Index) bool {
	if len(idx) == 0 {
		return false
	}
	if filepath.Base(input) == "Pipfile" {
		data, err := os.ReadFile(input)
		return err != nil || strings.Contains(string(data), "[[source]]")
	}
	return true
}

// pythonOnPath is the image path of the first python3 (else python) on the
// environment's PATH that exists under root, "" when none does.
func pythonOnPath(root string, env []string) string {
	p, ok := lookup(env)("PATH")
	if !ok {
		return ""
	}
	for _, name := range []string{"python3", "python"} {
		for _, dir := range strings.Split(p, ":") {
			if !strings.HasPrefix(dir, "/") {
				continue // relative PATH entries mean nothing inside an image
			}
			in := path.Join(dir, name)
			if fi, err := os.Lstat(filepath.Join(root, filepath.FromSlash(in))); err == nil && !fi.IsDir() {
				return in
			}
		}
	}
	return ""
}

// lookup returns a getter over KEY=VALUE entries; the last entry wins, as
// in os/exec.
func lookup(env []string) func(string) (string, bool) {
	return func(key string) (string, bool) {
		v, ok := "", false
		for _, kv := range env {
			if k, val, found := strings.Cut(kv, "="); found && k == key {
				v, ok = val, true
			}
		}
		return v, ok
	}
}
