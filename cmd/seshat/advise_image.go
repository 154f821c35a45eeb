package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/seshat-dev/seshat/abi"
	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/prescription"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/advise/target"
	"github.com/seshat-dev/seshat/extract"
)

func init() {
	exitClasses = append(exitClasses,
		// 6: a prescription refuses the resolution.
		exitClass{6, func(err error) bool { var e *advise.PrescriptionError; return errors.As(err, &e) }},
		// 8: the image has no Python, or several and none was chosen.
		exitClass{8, func(err error) bool {
			var np *advise.NoPythonError
			var ap *advise.AmbiguousPythonError
			return errors.As(err, &np) || errors.As(err, &ap)
		}},
	)
}

// imageFlags are the flags of `seshat advise` that take the target from an image.
type imageFlags struct {
	image, analysis, root string
	python                string
	platform, creds, auth string
	insecure              bool
	installed             string
	recommendation        string
	advisories            string
	report                string
	noABICheck            bool
	prescriptions         []string

	// knowledge loads the prescriptions and advisories in the background.
	knowledge *knowledge
}

// knowledge is what advise reads besides the input and the image:
// prescriptions and advisories. It loads while the image is analyzed, so a
// checkout of the public prescriptions repository (65,000 files: 1.6 s here
// read afresh, 0.8 s from the load cache) adds no wall time when the image
// is pulled or walked.
type knowledge struct {
	done          chan struct{}
	prescriptions *prescription.Set
	advisories    *advise.Advisories
	err           error
}

// startKnowledge starts loading what g names, when it names an image to
// resolve for (without one, advise stops at a usage error).
func startKnowledge(g *imageFlags, httpCache string) {
	if g.image == "" && g.analysis == "" && g.root == "" {
		return
	}
	k := &knowledge{done: make(chan struct{})}
	g.knowledge = k
	go func() {
		defer close(k.done)
		var err error
		if g.advisories != "" {
			if k.advisories, err = advise.LoadAdvisories(g.advisories); err != nil {
				k.err = inputFileError{err}
				return
			}
		}
		if len(g.prescriptions) > 0 {
			if k.prescriptions, err = prescription.LoadCached(cacheDir("prescriptions", httpCache), g.prescriptions...); err != nil {
				k.err = inputFileError{fmt.Errorf("loading prescriptions: %w", err)}
			}
		}
	}()
}

// wait returns what startKnowledge loaded.
func (k *knowledge) wait() (*prescription.Set, *advise.Advisories, error) {
	if k == nil {
		return nil, nil, nil
	}
	<-k.done
	return k.prescriptions, k.advisories, k.err
}

func addImageFlags(fl *pflag.FlagSet, f *imageFlags) {
	fl.StringVar(&f.image, "image", "", "resolve for this image (`REF`: registry, oci:DIR, docker-archive:FILE, dir:PATH)")
	fl.StringVar(&f.analysis, "analysis", "", "resolve for the image a saved `FILE` of `seshat analyze` describes")
	fl.StringVar(&f.root, "root", "", "resolve for the root filesystem `DIR` (e.g. / inside a build)")
	fl.StringVar(&f.python, "python", "", "the image's interpreter to resolve for (`PATH`; default: python3 on the image's PATH)")
	fl.StringVar(&f.platform, "image-platform", "", "`os/arch[/variant]` to pick from a multi-platform image index (default linux/amd64)")
	fl.StringVar(&f.creds, "creds", "", "registry credentials `USER:PASS` for --image")
	fl.StringVar(&f.auth, "authfile", "", "registry credentials from this containers auth.json `FILE`")
	fl.BoolVar(&f.insecure, "insecure", false, "allow plain HTTP and unverified TLS for --image")
	fl.StringVar(&f.installed, "installed", "keep", "packages the image already has: keep (leave them, unlocked, when they fit), prefer (try them first, lock them), ignore")
	fl.StringVar(&f.recommendation, "recommendation-type", "latest", "latest, stable, security (with --advisories) or performance")
	fl.StringVar(&f.advisories, "advisories", "", "OSV JSON or PyPA advisory-database YAML `DIR` for --recommendation-type security")
	fl.StringVar(&f.report, "report", "", "write the JSON report of the environment and every decision to `FILE` (fields: docs/report.md)")
	fl.StringArrayVar(&f.prescriptions, "prescriptions", nil, "Thoth-style prescriptions `DIR` to steer the resolution (repeatable)")
	fl.BoolVar(&f.noABICheck, "no-abi-check", false, "trust wheel platform tags instead of reading the symbol versions their shared objects need")
}

// adviseTarget returns the target, and the image environment when the
// flags name an image: the image's target with explicitly given flags
// overriding it.
func adviseTarget(cmd *cobra.Command, f *adviseFlags) (target.Target, *advise.ImageEnvironment, error) {
	g := &f.img
	n := 0
	for _, s := range []string{g.image, g.analysis, g.root} {
		if s != "" {
			n++
		}
	}
	if n == 0 {
		for _, name := range []string{"python", "image-platform", "creds", "authfile", "insecure", "installed", "report"} {
			if cmd.Flags().Changed(name) {
				return target.Target{}, nil, usageError{fmt.Errorf("--%s needs --image, --analysis or --root", name)}
			}
		}
		tg, err := targetFromFlags(f)
		return tg, nil, err
	}
	if n > 1 {
		return target.Target{}, nil, usageError{errors.New("give only one of --image, --analysis and --root")}
	}
	a, err := loadAnalysis(cmd, g)
	if err != nil {
		return target.Target{}, nil, err
	}
	env, err := advise.NewImageEnvironment(a, g.python)
	if err != nil {
		return target.Target{}, nil, err
	}
	tg := env.Target
	fl := cmd.Flags()
	if f.python != "" {
		tg.PythonVersion = f.python
	}
	if fl.Changed("implementation") {
		tg.Implementation = f.impl
	}
	if f.arch != "" {
		tg.Machine = f.arch
	}
	switch {
	case f.glibc != "" && len(f.platforms) > 0:
		return tg, nil, usageError{errors.New("give either --platform tags or --glibc, not both")}
	case len(f.platforms) > 0:
		tg.Platforms = f.platforms
	case f.glibc != "":
		tg.Platforms = abi.PlatformTags(abi.Libc{Family: "glibc", Version: f.glibc}, abi.WheelArch(tg.MachineName(), ""))
	}
	if err := tg.Validate(); err != nil {
		return tg, nil, fmt.Errorf("the target of %s: %w; give it with --python-version and --platform", env.Reference, err)
	}
	return tg, env, nil
}

// loadAnalysis analyzes the image, reads the saved Analysis, or walks the root.
func loadAnalysis(cmd *cobra.Command, g *imageFlags) (*extract.Analysis, error) {
	if g.analysis != "" {
		b, err := os.ReadFile(g.analysis)
		if err != nil {
			return nil, inputFileError{fmt.Errorf("reading the analysis: %w", err)}
		}
		var a extract.Analysis
		if err := json.Unmarshal(b, &a); err != nil {
			return nil, inputFileError{fmt.Errorf("%s is not an Analysis JSON (from seshat analyze): %w", g.analysis, err)}
		}
		if a.Schema != extract.SchemaV1 {
			return nil, inputFileError{fmt.Errorf("%s has schema %q, want %q (write it with seshat analyze --format json)", g.analysis, a.Schema, extract.SchemaV1)}
		}
		return &a, nil
	}
	ref := g.image
	if g.root != "" {
		ref = "dir:" + g.root
	}
	var opts []extract.Option
	if g.platform != "" {
		opts = append(opts, extract.WithPlatform(g.platform))
	}
	if g.creds != "" {
		user, pass, ok := strings.Cut(g.creds, ":")
		if !ok {
			return nil, usageError{errors.New("--creds: want USER:PASS")}
		}
		opts = append(opts, extract.WithCredentials(user, pass))
	}
	if g.auth != "" {
		opts = append(opts, extract.WithAuthFile(g.auth))
	}
	opts = append(opts, extract.WithInsecure(g.insecure))
	ctx := cmd.Context()
	src, err := extract.Open(ctx, ref, opts...)
	if err != nil {
		return nil, err
	}
	exs := []extract.Extractor{extract.NewOSExtractor(), extract.NewPackagesExtractor(), extract.NewPythonExtractor(), extract.NewABIExtractor(), extract.NewCUDAExtractor()}
	a, err := extract.Analyze(ctx, src, exs, extract.WalkOptions{})
	if err != nil {
		return nil, fmt.Errorf("analyzing %s: %w", ref, err)
	}
	return a, nil
}

// adviseResolve resolves for the image when there is one, else for the flags' target.
func adviseResolve(cmd *cobra.Command, f *adviseFlags, in *reqfile.Input, env *advise.ImageEnvironment, tg target.Target, client *index.Client, opts []advise.Option) (*advise.Result, *advise.Report, error) {
	g := &f.img
	rec, err := advise.ParseRecommendationType(g.recommendation)
	if err != nil {
		return nil, nil, usageError{err}
	}
	if env == nil {
		if rec != advise.RecommendLatest || g.advisories != "" || len(g.prescriptions) > 0 {
			return nil, nil, usageError{errors.New("--recommendation-type, --advisories and --prescriptions need --image, --analysis or --root")}
		}
		res, err := advise.Resolve(cmd.Context(), in, tg, client, opts...)
		return res, nil, err
	}
	mode, err := advise.ParseInstalledMode(g.installed)
	if err != nil {
		return nil, nil, usageError{err}
	}
	s := advise.ImageSettings{Installed: mode, Recommendation: rec}
	if rec == advise.RecommendSecurity && g.advisories == "" {
		return nil, nil, usageError{errors.New("--recommendation-type security needs --advisories DIR (a checkout of an OSV or PyPA advisory database)")}
	}
	if s.Prescriptions, s.Advisories, err = g.knowledge.wait(); err != nil {
		return nil, nil, err
	}
	if !g.noABICheck {
		s.ABI = advise.NewABIChecker(client, cacheDir("abi", f.cacheDir))
	}
	res, rep, err := advise.ResolveImage(cmd.Context(), in, env, tg, client, s, opts...)
	if err != nil {
		return nil, nil, err
	}
	if g.report != "" {
		var buf bytes.Buffer
		if err := rep.WriteJSON(&buf); err != nil {
			return nil, nil, err
		}
		if err := writeFileAtomic(g.report, buf.Bytes()); err != nil {
			return nil, nil, err
		}
	}
	return res, rep, nil
}

// cacheDir is where advise caches one kind of thing (what compiled wheels
// need, what prescription files yield): beside the HTTP cache when
// --cache-dir names one, else under the user's cache directory; "" (no
// cache: every run reads it all again) when there is neither.
func cacheDir(kind, httpCache string) string {
	if httpCache != "" {
		return filepath.Join(httpCache, kind)
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "seshat", kind)
}

// explainAdvice prints the image report when there is one, else the pins.
func explainAdvice(w io.Writer, res *advise.Result, rep *advise.Report) {
	if rep != nil {
		rep.Explain(w)
		return
	}
	explain(w, res)
}
