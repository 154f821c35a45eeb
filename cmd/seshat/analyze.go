package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/seshat-dev/seshat/extract"
	"github.com/seshat-dev/seshat/extract/report"
)

func init() {
	subcommands = append(subcommands, newAnalyzeCmd)
	exitClasses = append(exitClasses,
		// 2: the image reference (or --platform) is malformed.
		exitClass{2, func(err error) bool { return errors.Is(err, extract.ErrBadReference) }},
		// 4: the registry refused the credentials.
		exitClass{4, func(err error) bool { return errors.Is(err, extract.ErrUnauthorized) }},
		// 3: the image could not be opened: not found, registry unreachable, platform not in the index.
		exitClass{3, func(err error) bool {
			return errors.Is(err, extract.ErrImageNotFound) || errors.Is(err, extract.ErrRegistryUnreachable) ||
				errors.Is(err, extract.ErrPlatformNotFound)
		}},
		// 5: a layer is corrupt or hostile (not a tar, truncated, digest mismatch, bomb, too many entries).
		exitClass{5, func(err error) bool { return errors.Is(err, extract.ErrCorruptLayer) }},
	)
}

type analyzeFlags struct {
	format, output      string
	platform, creds     string
	authFile            string
	insecure            bool
	noCache, quiet      bool
	sbom, sbomFile      string
	cacheDir            string // hidden; tests and packagers point it elsewhere
	maxRows             int
	progressForTerminal func(*os.File) bool // replaced in tests
}

func newAnalyzeCmd() *cobra.Command {
	f := &analyzeFlags{progressForTerminal: func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }}
	cmd := &cobra.Command{
		Use:   "analyze REF",
		Short: "Report what is inside an image: OS, packages, Python, ABI, CUDA",
		Long: `Analyze reads an image without running it — each layer once, as a stream,
never unpacked to disk — and reports its metadata, operating system (os-release),
OS packages (rpm, dpkg, apk, read by syft's catalogers), Python interpreters and
environments, glibc/musl and symbol versions with the wheel tags they accept, and
CUDA.

REF is one of:
  host[:port]/org/img:tag, …@sha256:…, docker://…   an image in a registry
  oci:DIR[:tag|@digest]                              an OCI image layout
  docker-archive:FILE                                a 'docker save' tar (plain or gzipped)
  dir:PATH                                           a root filesystem, / included

Registry credentials come from --creds, --authfile, $REGISTRY_AUTH_FILE or the
Docker config (~/.docker/config.json, $DOCKER_CONFIG). Analyses are cached by
manifest digest under $XDG_CACHE_HOME/seshat/analysis, so analyzing the same
image again reads only its manifest (--no-cache skips the cache).

Output formats: json (the Analysis, documented in docs/analysis.md), table (a
summary for people), package-extract (the key names of Thoth's package-extract).
--sbom cyclonedx-json|spdx-json|syft-json --sbom-file FILE also writes syft's SBOM
of the OS packages (FILE "-" is standard output; then -o must name the analysis' file).

Exit codes: 0 success, 1 other failure, 2 bad usage or reference, 3 image could
not be opened (not found, registry unreachable, platform not in the index),
4 authentication failed, 5 corrupt or hostile image content.`,
		Example: `  # The default: the Analysis as JSON
  seshat analyze registry.access.redhat.com/ubi9/python-311:latest

  # A summary, from an OCI layout on disk
  seshat analyze oci:./images/app:latest --format table

  # The arm64 image of a multi-platform index, written to a file
  seshat analyze --platform linux/arm64 quay.io/org/app:1.2 -o analysis.json

  # A private registry with a self-signed certificate
  seshat analyze --creds "$USER:$TOKEN" --insecure registry.local:5000/team/app:dev

  # Thoth package-extract's document, plus a CycloneDX SBOM of the OS packages
  seshat analyze docker-archive:app.tar --format package-extract --sbom cyclonedx-json --sbom-file sbom.json

  # The machine (or build container) seshat runs in
  seshat analyze dir:/ --format table`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError{fmt.Errorf("analyze takes one image reference, got %d arguments", len(args))}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return runAnalyze(cmd, f, args[0]) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "json", "output format: "+strings.Join(report.Formats, ", "))
	fl.StringVarP(&f.output, "output", "o", "", "write the output to `FILE` instead of standard output")
	fl.StringVar(&f.platform, "platform", "", "`os/arch[/variant]` to pick from a multi-platform index (default linux/amd64)")
	fl.StringVar(&f.creds, "creds", "", "registry credentials `USER:PASS`")
	fl.StringVar(&f.authFile, "authfile", "", "registry credentials from this containers auth.json `FILE`")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and TLS certificates that do not verify")
	fl.BoolVar(&f.noCache, "no-cache", false, "neither read nor write the analysis cache")
	fl.BoolVarP(&f.quiet, "quiet", "q", false, "no progress bar")
	fl.StringVar(&f.sbom, "sbom", "", "also write an SBOM of the OS packages: "+strings.Join(report.SBOMFormats, ", "))
	fl.StringVar(&f.sbomFile, "sbom-file", "", "where --sbom writes (`FILE`, or - for standard output)")
	fl.IntVar(&f.maxRows, "rows", 20, "table format: rows shown per list (0: all)")
	fl.StringVar(&f.cacheDir, "cache-dir", "", "analysis cache directory (default $XDG_CACHE_HOME/seshat/analysis)")
	_ = fl.MarkHidden("cache-dir")
	return cmd
}

func (f *analyzeFlags) validate() error {
	if !slices.Contains(report.Formats, f.format) {
		return usageError{fmt.Errorf("--format %q: want one of %s", f.format, strings.Join(report.Formats, ", "))}
	}
	if f.sbom != "" && !slices.Contains(report.SBOMFormats, f.sbom) {
		return usageError{fmt.Errorf("--sbom %q: want one of %s", f.sbom, strings.Join(report.SBOMFormats, ", "))}
	}
	if f.sbom != "" && f.sbomFile == "" {
		return usageError{errors.New("--sbom needs --sbom-file FILE (or - for standard output, with -o for the analysis)")}
	}
	if f.sbom == "" && f.sbomFile != "" {
		return usageError{errors.New("--sbom-file needs --sbom FORMAT")}
	}
	if f.sbomFile == "-" && (f.output == "" || f.output == "-") {
		return usageError{errors.New("--sbom-file - writes the SBOM to standard output; name a file for the analysis with -o")}
	}
	if f.creds != "" && !strings.Contains(f.creds, ":") {
		return usageError{errors.New("--creds: want USER:PASS")}
	}
	return nil
}

func runAnalyze(cmd *cobra.Command, f *analyzeFlags, ref string) error {
	if err := f.validate(); err != nil {
		return err
	}
	ctx := cmd.Context()
	stderr := cmd.ErrOrStderr()
	var opts []extract.Option
	if f.platform != "" {
		opts = append(opts, extract.WithPlatform(f.platform))
	}
	if f.creds != "" {
		user, pass, _ := strings.Cut(f.creds, ":")
		opts = append(opts, extract.WithCredentials(user, pass))
	}
	if f.authFile != "" {
		opts = append(opts, extract.WithAuthFile(f.authFile))
	}
	opts = append(opts, extract.WithInsecure(f.insecure))
	if ef, ok := stderr.(*os.File); ok && !f.quiet && f.progressForTerminal(ef) {
		opts = append(opts, extract.WithProgress(ef))
	}
	src, err := extract.Open(ctx, ref, opts...)
	if err != nil {
		return err
	}

	var pkgOpts []extract.PackagesOption
	if f.sbom != "" {
		pkgOpts = append(pkgOpts, extract.WithSBOM())
	}
	packages := extract.NewPackagesExtractor(pkgOpts...)
	exs := []extract.Extractor{extract.NewOSExtractor(), packages, extract.NewPythonExtractor(), extract.NewABIExtractor(), extract.NewCUDAExtractor()}

	cache := openCache(f, exs, stderr)
	var a *extract.Analysis
	// An SBOM needs syft's own package records, which the cache does not keep.
	if cache != nil && f.sbom == "" && src.Digest() != "" {
		hit, ok, err := cache.Get(src.Digest())
		if err != nil {
			fmt.Fprintf(stderr, "seshat: warning: %v\n", err)
		}
		if ok {
			hit.Image.Reference = ref
			a = hit
		}
	}
	if a == nil {
		a, err = extract.Analyze(ctx, src, exs, extract.WalkOptions{})
		if err != nil {
			return err
		}
		if cache != nil {
			if err := cache.Put(a); err != nil {
				fmt.Fprintf(stderr, "seshat: warning: not cached: %v\n", err)
			}
		}
	}

	ropts := []report.Option{report.WithTool("seshat", version), report.WithMaxRows(f.maxRows)}
	if f.sbom != "" {
		var buf bytes.Buffer
		if err := report.SBOM(&buf, f.sbom, a, packages.SBOM(), ropts...); err != nil {
			return err
		}
		if err := writeOutput(cmd.OutOrStdout(), f.sbomFile, buf.Bytes()); err != nil {
			return err
		}
	}
	var buf bytes.Buffer
	if err := report.Write(&buf, f.format, a, ropts...); err != nil {
		return err
	}
	return writeOutput(cmd.OutOrStdout(), f.output, buf.Bytes())
}

// openCache returns the analysis cache, or nil with --no-cache or when no
// cache directory can be found (a warning: the analysis still runs).
func openCache(f *analyzeFlags, exs []extract.Extractor, stderr io.Writer) *extract.Cache {
	if f.noCache {
		return nil
	}
	dir := f.cacheDir
	if dir == "" {
		d, err := extract.DefaultCacheDir()
		if err != nil {
			fmt.Fprintf(stderr, "seshat: warning: %v\n", err)
			return nil
		}
		dir = d
	}
	names := make([]string, len(exs))
	for i, ex := range exs {
		names[i] = ex.Name()
	}
	return extract.NewCache(dir, "seshat "+version+"; "+strings.Join(names, ","))
}

// writeOutput writes data to path ("" or "-": w), replacing a file atomically.
func writeOutput(w io.Writer, path string, data []byte) error {
	if path == "" || path == "-" {
		_, err := w.Write(data)
		return err
	}
	return writeFileAtomic(path, data)
}
