package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seshat-dev/seshat/abi"
	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/lock"
	"github.com/seshat-dev/seshat/advise/pep508"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/advise/target"
)

func init() {
	subcommands = append(subcommands, newAdviseCmd)
	exitClasses = append(exitClasses,
		// 6: the requirements cannot all hold on the target; the message explains why.
		exitClass{6, func(err error) bool { var e *advise.NoSolutionError; return errors.As(err, &e) }},
		// 7: an index could not be read (network, HTTP error, garbage, hash mismatch, offline miss).
		exitClass{7, func(err error) bool { var e *advise.IndexError; return errors.As(err, &e) }},
		// 8: the input file is malformed or asks for something that cannot be resolved.
		exitClass{8, func(err error) bool {
			var le *reqfile.LineError
			var se *pep508.SyntaxError
			var ie *advise.InputError
			var fe inputFileError
			return errors.As(err, &le) || errors.As(err, &se) || errors.As(err, &ie) || errors.As(err, &fe)
		}},
	)
}

// defaultIndex is used when neither the flags, the input file nor
// PIP_INDEX_URL name an index.
const defaultIndex = advise.DefaultIndex

// inputFileError marks a failure to read the user's input file (exit code 8).
type inputFileError struct{ err error }

func (e inputFileError) Error() string { return e.err.Error() }
func (e inputFileError) Unwrap() error { return e.err }

type adviseFlags struct {
	requirements, pipfile, pyproject string
	extras, groups                   []string
	python, impl                     string
	platforms                        []string
	glibc, arch                      string
	indexURL                         string
	extraIndexURLs                   []string
	pre, onlyBinary                  bool
	offline, refresh                 bool
	cacheDir                         string
	format, output                   string
	explain, dev                     bool
	img                              imageFlags // image-aware advice: advise_image.go
}

func newAdviseCmd() *cobra.Command {
	var f adviseFlags
	cmd := &cobra.Command{
		Use:   "advise",
		Short: "Resolve Python requirements into a hash-pinned lockfile for a target interpreter and platform",
		Long: `advise resolves a requirements file, Pipfile or pyproject.toml for one target —
a Python version and the wheel platform tags it accepts — and writes a lockfile
that pins every package with the hashes of exactly the files that install there.

With no input flag it reads, from the current directory, Pipfile, else
pyproject.toml, else requirements.in, else requirements.txt.

The index is --index-url, else the input's first index (Pipfile [[source]],
--index-url line), else $PIP_INDEX_URL, else ` + defaultIndex + `. With several indexes
the first one that has a project serves all of its files: a project is never
merged across indexes, so nobody can shadow a private package on a public index.`,
		Example: `  seshat advise -r requirements.txt --python-version 3.11 --glibc 2.36 --arch x86_64 \
      --format requirements -o requirements.lock
  seshat advise --pipfile Pipfile --python-version 3.11 --platform manylinux_2_28_x86_64 \
      --platform manylinux2014_x86_64 --format pipfile-lock -o Pipfile.lock --explain
  # For an image: its Python, glibc, installed packages and CUDA set the target
  seshat advise --image quay.io/org/app:1.2 -r requirements.txt -o requirements.lock --report report.json
  seshat advise --root / --pipfile Pipfile --format pipfile-lock -o Pipfile.lock --installed keep
  seshat advise --analysis analysis.json -r requirements.txt --recommendation-type security --advisories ./advisory-database`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAdvise(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.requirements, "requirements", "r", "", "requirements file to resolve")
	fl.StringVar(&f.pipfile, "pipfile", "", "Pipfile to resolve ([packages] and [dev-packages])")
	fl.StringVar(&f.pyproject, "pyproject", "", "pyproject.toml to resolve ([project] dependencies)")
	fl.StringSliceVar(&f.extras, "extra", nil, "pyproject optional-dependencies to include (repeatable)")
	fl.StringSliceVar(&f.groups, "group", nil, "pyproject [dependency-groups] to include (repeatable)")
	fl.StringVar(&f.python, "python-version", "", "target Python version, X.Y or X.Y.Z (required)")
	fl.StringVar(&f.impl, "implementation", "cp", "target implementation: cp (CPython) or pp (PyPy)")
	fl.StringArrayVar(&f.platforms, "platform", nil, "wheel platform tag the target accepts, most preferred first (repeatable)")
	fl.StringVar(&f.glibc, "glibc", "", "derive the manylinux platform tags from this glibc version (with --arch)")
	fl.StringVar(&f.arch, "arch", "", "target architecture for --glibc, e.g. x86_64, aarch64")
	fl.StringVar(&f.indexURL, "index-url", "", "simple API root of the default index")
	fl.StringArrayVar(&f.extraIndexURLs, "extra-index-url", nil, "further index, consulted for projects the earlier ones lack (repeatable)")
	fl.BoolVar(&f.pre, "pre", false, "let pre-releases match every requirement")
	fl.BoolVar(&f.onlyBinary, "only-binary", false, "only wheels: never lock an sdist")
	fl.BoolVar(&f.offline, "offline", false, "use only the HTTP cache; fail on a miss")
	fl.BoolVar(&f.refresh, "refresh", false, "revalidate every cached index page")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "HTTP cache directory (default $XDG_CACHE_HOME/seshat/http); given, the wheel ABI and prescription caches go in it too")
	fl.StringVar(&f.format, "format", "requirements", "lockfile format: pipfile-lock, requirements or pylock")
	fl.StringVarP(&f.output, "output", "o", "", "write the lockfile here instead of standard output")
	fl.BoolVar(&f.explain, "explain", false, "say for each pin why that version was chosen")
	fl.BoolVar(&f.dev, "dev", false, "with --format requirements, also write the pins only [dev-packages] need")
	addImageFlags(fl, &f.img)
	return cmd
}

func runAdvise(cmd *cobra.Command, f *adviseFlags) error {
	switch f.format {
	case "pipfile-lock", "requirements", "pylock":
	default:
		return usageError{fmt.Errorf("--format %q: want pipfile-lock, requirements or pylock", f.format)}
	}
	startKnowledge(&f.img, f.cacheDir)
	in, err := loadInput(f)
	if err != nil {
		return err
	}
	tg, env, err := adviseTarget(cmd, f)
	if err != nil {
		return err
	}
	indexes, err := chooseIndexes(f, in)
	if err != nil {
		return err
	}
	opts := []index.Option{index.WithCacheDir(f.cacheDir)}
	if f.cacheDir == "" {
		opts = opts[:0] // the client's default XDG location
	}
	if f.offline {
		opts = append(opts, index.WithOffline())
	}
	if f.refresh {
		opts = append(opts, index.WithRefresh())
	}
	client, lockIdx, err := advise.NewIndexClient(in, indexes, opts...)
	if err != nil {
		return err
	}
	aopts := []advise.Option{advise.WithIndexes(lockIdx...)}
	if f.pre {
		aopts = append(aopts, advise.WithPrereleases())
	}
	if f.onlyBinary {
		aopts = append(aopts, advise.WithOnlyBinary())
	}
	res, rep, err := adviseResolve(cmd, f, in, env, tg, client, aopts)
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintln(cmd.ErrOrStderr(), "seshat: warning:", w)
	}

	var buf bytes.Buffer
	switch f.format {
	case "requirements":
		err = lock.WriteRequirements(&buf, res.Lock, lock.RequirementsOptions{Develop: f.dev})
	case "pylock":
		err = lock.WritePylock(&buf, res.Lock)
	case "pipfile-lock":
		err = writePipfileLock(cmd, &buf, res.Lock, in, indexes, f.output)
	}
	if err != nil {
		return fmt.Errorf("writing the %s: %w", f.format, err)
	}
	explainTo := cmd.ErrOrStderr()
	if f.output == "" {
		if _, err := cmd.OutOrStdout().Write(buf.Bytes()); err != nil {
			return err
		}
	} else {
		if err := writeFileAtomic(f.output, buf.Bytes()); err != nil {
			return err
		}
		explainTo = cmd.OutOrStdout()
	}
	if f.explain {
		explainAdvice(explainTo, res, rep)
	}
	return nil
}

// loadInput reads the input file the flags name, or discovers one.
func loadInput(f *adviseFlags) (*reqfile.Input, error) {
	var path string
	var n int
	for _, p := range []string{f.requirements, f.pipfile, f.pyproject} {
		if p != "" {
			path = p
			n++
		}
	}
	if n > 1 {
		return nil, usageError{errors.New("give only one of -r, --pipfile and --pyproject")}
	}
	var in *reqfile.Input
	var err error
	switch {
	case f.requirements != "":
		in, err = reqfile.ParseRequirementsFile(path)
	case f.pipfile != "":
		in, err = reqfile.ParsePipfile(path)
	case f.pyproject != "":
		in, err = reqfile.ParsePyproject(path, f.extras, f.groups)
	default:
		path, err = reqfile.Discover(".")
		if err != nil {
			return nil, usageError{fmt.Errorf("no input: %w in the current directory; name one with -r, --pipfile or --pyproject", err)}
		}
		in, err = reqfile.Load(path, reqfile.WithExtras(f.extras...), reqfile.WithGroups(f.groups...))
	}
	if err != nil {
		var le *reqfile.LineError
		if errors.As(err, &le) {
			return nil, err
		}
		return nil, inputFileError{fmt.Errorf("reading %s: %w", path, err)}
	}
	return in, nil
}

// targetFromFlags builds the target interpreter and platform.
func targetFromFlags(f *adviseFlags) (target.Target, error) {
	if f.python == "" {
		return target.Target{}, usageError{errors.New("--python-version is required, e.g. --python-version 3.11")}
	}
	t := target.Target{PythonVersion: f.python, Implementation: f.impl, Platforms: f.platforms}
	switch {
	case f.glibc != "" && len(f.platforms) > 0:
		return t, usageError{errors.New("give either --platform tags or --glibc with --arch, not both")}
	case f.glibc != "":
		if f.arch == "" {
			return t, usageError{errors.New("--glibc needs --arch, e.g. --arch x86_64")}
		}
		t.Platforms = abi.PlatformTags(abi.Libc{Family: "glibc", Version: f.glibc}, abi.WheelArch(f.arch, ""))
	}
	if err := t.Validate(); err != nil {
		return t, usageError{err}
	}
	return t, nil
}

// chooseIndexes orders the indexes as advise.ChooseIndexes does, from
// --index-url, the input, $PIP_INDEX_URL and --extra-index-url.
func chooseIndexes(f *adviseFlags, in *reqfile.Input) ([]reqfile.Index, error) {
	return advise.ChooseIndexes(in, advise.IndexChoice{IndexURL: f.indexURL, EnvIndexURL: os.Getenv("PIP_INDEX_URL"), Extra: f.extraIndexURLs})
}

// writePipfileLock writes a Pipfile.lock. For an input that is not a
// Pipfile, pipenv needs a Pipfile beside the lock whose hash matches: one is
// synthesized from the input and written next to the output if none is there.
func writePipfileLock(cmd *cobra.Command, w io.Writer, l *lock.Lock, in *reqfile.Input, indexes []reqfile.Index, output string) error {
	pfPath := "Pipfile"
	if output != "" {
		pfPath = filepath.Join(filepath.Dir(output), "Pipfile")
	}
	pf, synthesized, err := lock.PipfileFor(in, indexes, pfPath)
	if err != nil {
		return err
	}
	if synthesized != nil && output != "" {
		if _, err := os.Stat(pfPath); errors.Is(err, os.ErrNotExist) {
			if err := writeFileAtomic(pfPath, synthesized); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "seshat: wrote %s for pipenv, from %s\n", pfPath, in.Source)
		}
	}
	return lock.WritePipfileLock(w, l, pf)
}

// explain prints each pin and why it has that version.
func explain(w io.Writer, res *advise.Result) {
	for _, p := range res.Pins {
		fmt.Fprintf(w, "%s==%s: %s\n", p.Name, p.Version, p.Why)
		for _, d := range p.Details {
			fmt.Fprintf(w, "    %s\n", strings.ReplaceAll(d, "\n", "\n    "))
		}
	}
}

// writeFileAtomic replaces path with data, so a failed run leaves the old
// file. A path that is not a regular file — /dev/null, /dev/stdout, a named
// pipe, a symlink — is written through instead: renaming over it would
// replace the device or the link itself (as root, /dev/null for everyone).
func writeFileAtomic(path string, data []byte) error {
	if fi, err := os.Lstat(path); err == nil && !fi.Mode().IsRegular() {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return fmt.Errorf("writing %s: %w", path, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", path, err)
		}
		return nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
