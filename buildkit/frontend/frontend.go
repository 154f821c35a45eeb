// Package frontend is seshat's BuildKit gateway frontend: a Dockerfile
// build whose Python lockfile is advised for its base image, without
// running anything from that image.
//
// Used as `# syntax=REGISTRY/seshat-frontend` on a Dockerfile (or `buildctl
// build --frontend gateway.v0 --opt source=REGISTRY/seshat-frontend`), Build:
//
//  1. chooses the image to advise for: build-arg SESHAT_BASE, else the base
//     image of the target stage (--target, else the last stage), following
//     FROM lines that name other stages and expanding ARGs;
//  2. has BuildKit pull that image and reads its files through the gateway
//     (ReadDir, StatFile, ReadFile on the solved reference) and its config
//     through ResolveImageConfig: no container is started, nothing in the
//     image is executed;
//  3. reads the application's requirements from the build context
//     (SESHAT_REQUIREMENTS, else Pipfile, pyproject.toml, requirements.in or
//     requirements.txt, found as `seshat advise` finds them);
//  4. advises in-process as `seshat advise --image` does: the image's
//     interpreter (python3 on its PATH, or SESHAT_PYTHON), its glibc and wheel
//     tags, the distributions already installed, CUDA; the index is the
//     input's own, else build-arg PIP_INDEX_URL, else PyPI;
//  5. writes the lock into a scratch filesystem and hands the whole build to
//     the Dockerfile frontend (dockerfile.v0) with every option it was given,
//     plus that filesystem as the named context "seshat-lock": a Dockerfile
//     reads the lock with `COPY --from=seshat-lock` or
//     `RUN --mount=from=seshat-lock,...`.
//
// The seshat-lock context holds /requirements.lock (SESHAT_FORMAT
// requirements, the default), /pylock.toml (pylock) or /Pipfile.lock
// (pipfile-lock, with the /Pipfile it was hashed from), and
// /seshat-report.json, the environment and every decision.
//
// Its image declares the capabilities dockerfile.v0 has that a client may
// ask for (inputs, contexts, subrequests): it passes them through.
//
// It is not a Dockerfile frontend of its own: everything but the lock is the
// stock dockerfile.v0 of the BuildKit that runs the build.
package frontend

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/containerd/platforms"
	"github.com/distribution/reference"
	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/buildkit/frontend/dockerui"
	"github.com/moby/buildkit/frontend/gateway/client"
	"github.com/moby/buildkit/solver/pb"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/seshat-dev/seshat/advise"
	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/lock"
	"github.com/seshat-dev/seshat/advise/reqfile"
	"github.com/seshat-dev/seshat/extract"
)

// LockContext is the name of the context the lock is handed over as.
const LockContext = "seshat-lock"

// Build-args the frontend reads (--build-arg NAME=VALUE); the Dockerfile
// frontend sees them too.
const (
	ArgBase           = "SESHAT_BASE"
	ArgRequirements   = "SESHAT_REQUIREMENTS"
	ArgFormat         = "SESHAT_FORMAT"
	ArgRecommendation = "SESHAT_RECOMMENDATION_TYPE"
	ArgInstalled      = "SESHAT_INSTALLED"
	ArgPython         = "SESHAT_PYTHON"
	ArgIndexURL       = "PIP_INDEX_URL"
	ArgExtraIndexURL  = "PIP_EXTRA_INDEX_URL"
)

// maxInputFile bounds each requirements file read from the context.
const maxInputFile = 4 << 20

// Build is the frontend: see the package documentation.
func Build(ctx context.Context, c client.Client) (*client.Result, error) {
	if c.BuildOpts().Opts["requestid"] != "" {
		// A subrequest (--print, --call: outline, targets, lint) builds
		// nothing: dockerfile.v0 answers it without any lock.
		return handOff(ctx, c, nil)
	}
	bc, err := dockerui.NewClient(c)
	if err != nil {
		return nil, err
	}
	args := bc.BuildArgs
	base, err := chooseBase(ctx, bc)
	if err != nil {
		return nil, err
	}
	plat, err := targetPlatform(c, bc)
	if err != nil {
		return nil, err
	}
	a, err := analyzeImage(ctx, c, base, plat)
	if err != nil {
		return nil, err
	}

	work, err := os.MkdirTemp("", "seshat-frontend-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	src := filepath.Join(work, "src")
	input, err := readInputs(ctx, c, bc, src, args[ArgRequirements])
	if err != nil {
		return nil, err
	}
	files, summary, err := advise1(ctx, a, src, input, args, filepath.Join(work, "cache"))
	if err != nil {
		return nil, err
	}

	st := llb.Scratch()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		st = st.File(llb.Mkfile("/"+name, 0o644, files[name]), llb.WithCustomName("[seshat] "+name+": "+summary))
	}
	return handOff(ctx, c, &st)
}

// chooseBase names the image to advise for.
func chooseBase(ctx context.Context, bc *dockerui.Client) (string, error) {
	if b := bc.BuildArgs[ArgBase]; b != "" {
		return b, nil
	}
	src, err := bc.ReadEntrypoint(ctx, "Dockerfile")
	if err != nil {
		return "", fmt.Errorf("reading the Dockerfile to find its base image: %w", err)
	}
	base, err := finalBase(src.Data, bc.BuildArgs, bc.Target)
	if err != nil {
		return "", fmt.Errorf("%w; name the image to advise for with --build-arg %s=IMAGE", err, ArgBase)
	}
	return base, nil
}

// finalBase returns the image the target stage (the last one when target
// is "") is built on, following stages named in FROM.
func finalBase(dockerfile []byte, buildArgs map[string]string, target string) (string, error) {
	ast, err := parser.Parse(bytes.NewReader(dockerfile))
	if err != nil {
		return "", fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	stages, metaArgs, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		return "", fmt.Errorf("parsing the Dockerfile: %w", err)
	}
	if len(stages) == 0 {
		return "", errors.New("the Dockerfile has no FROM")
	}
	var env []string
	for _, ma := range metaArgs {
		for _, kv := range ma.Args {
			v, ok := buildArgs[kv.Key]
			if !ok && kv.Value != nil {
				v, ok = *kv.Value, true
			}
			if ok {
				env = append(env, kv.Key+"="+v)
			}
		}
	}
	lex := shell.NewLex(ast.EscapeToken)
	byName := map[string]int{}
	for i, s := range stages {
		if s.Name != "" {
			byName[strings.ToLower(s.Name)] = i
		}
	}
	i := len(stages) - 1
	if target != "" {
		var ok bool
		if i, ok = byName[strings.ToLower(target)]; !ok {
			return "", fmt.Errorf("no stage %q in the Dockerfile", target)
		}
	}
	for seen := 0; seen <= len(stages); seen++ {
		name, _, err := lex.ProcessWord(stages[i].BaseName, shell.EnvsFromSlice(env))
		if err != nil {
			return "", fmt.Errorf("expanding FROM %s: %w", stages[i].BaseName, err)
		}
		if j, ok := byName[strings.ToLower(name)]; ok && j < i {
			i = j
			continue
		}
		switch name {
		case "":
			return "", fmt.Errorf("FROM %s expands to nothing", stages[i].BaseName)
		case "scratch":
			return "", errors.New("the target stage is built FROM scratch, which has no Python")
		}
		return name, nil
	}
	return "", errors.New("the Dockerfile's stages refer to each other in a loop")
}

// targetPlatform is the one platform the build is for.
func targetPlatform(c client.Client, bc *dockerui.Client) (ocispecs.Platform, error) {
	switch len(bc.TargetPlatforms) {
	case 0:
		if ws := c.BuildOpts().Workers; len(ws) > 0 && len(ws[0].Platforms) > 0 {
			return ws[0].Platforms[0], nil
		}
		return platforms.DefaultSpec(), nil
	case 1:
		return bc.TargetPlatforms[0], nil
	}
	return ocispecs.Platform{}, fmt.Errorf("seshat advises one platform per build, and %d were asked for; build each platform on its own", len(bc.TargetPlatforms))
}

// analyzeImage reads base's config and files through BuildKit.
func analyzeImage(ctx context.Context, c client.Client, base string, plat ocispecs.Platform) (*extract.Analysis, error) {
	named, err := reference.ParseNormalizedNamed(base)
	if err != nil {
		return nil, fmt.Errorf("base image %q: %w", base, err)
	}
	ref := reference.TagNameOnly(named).String()
	_, dgst, cfg, err := c.ResolveImageConfig(ctx, ref, sourceresolver.Opt{
		LogName:  "[seshat] resolve " + ref,
		ImageOpt: &sourceresolver.ResolveImageOpt{Platform: &plat},
	})
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", ref, err)
	}
	info, err := extract.InfoFromConfig(base, dgst.String(), cfg)
	if err != nil {
		return nil, err
	}
	pinned := ref
	if dgst != "" {
		pinned = named.Name() + "@" + dgst.String()
	}
	def, err := llb.Image(pinned, llb.Platform(plat), llb.WithCustomName("[seshat] read "+ref)).Marshal(ctx)
	if err != nil {
		return nil, err
	}
	res, err := c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return nil, fmt.Errorf("pulling %s: %w", ref, err)
	}
	r, err := res.SingleRef()
	if err != nil {
		return nil, err
	}
	exs := []extract.Extractor{extract.NewOSExtractor(), extract.NewPackagesExtractor(), extract.NewPythonExtractor(), extract.NewABIExtractor(), extract.NewCUDAExtractor()}
	a, err := extract.Analyze(ctx, extract.OpenFS(newRefFS(ctx, r), info), exs, extract.WalkOptions{})
	if err != nil {
		return nil, fmt.Errorf("analyzing %s: %w", base, err)
	}
	return a, nil
}

// inputNames are the files read from the build context's top directory (or
// SESHAT_REQUIREMENTS's): the inputs and what a requirements file can
// include with -r or -c.
var inputNames = []string{"Pipfile", "pyproject.toml", "*.txt", "*.in"}

// readInputs copies the candidate input files from the build context into
// dir and returns the one to resolve, as a path in dir.
func readInputs(ctx context.Context, c client.Client, bc *dockerui.Client, dir, named string) (string, error) {
	sub := "."
	if named != "" {
		clean := path.Clean(strings.TrimPrefix(named, "/"))
		if !fs.ValidPath(clean) || clean == "." {
			return "", fmt.Errorf("%s=%s: want a file in the build context", ArgRequirements, named)
		}
		sub = path.Dir(clean)
	}
	var patterns []string
	for _, n := range inputNames {
		patterns = append(patterns, path.Join(sub, n))
	}
	st, err := bc.MainContext(ctx, llb.IncludePatterns(patterns), llb.WithCustomName("[seshat] load requirements"))
	if err != nil {
		return "", err
	}
	def, err := st.Marshal(ctx)
	if err != nil {
		return "", err
	}
	res, err := c.Solve(ctx, client.SolveRequest{Definition: def.ToPB()})
	if err != nil {
		return "", fmt.Errorf("reading the build context: %w", err)
	}
	ref, err := res.SingleRef()
	if err != nil {
		return "", err
	}
	into := filepath.Join(dir, filepath.FromSlash(sub))
	if err := os.MkdirAll(into, 0o755); err != nil {
		return "", err
	}
	fsys := newRefFS(ctx, ref)
	ents, err := fsys.ReadDir(sub)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("listing the build context: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !fs.ValidPath(name) || strings.Contains(name, "/") || !matchesAny(name) {
			continue
		}
		fi, err := fsys.Stat(path.Join(sub, name)) // a symlink: what it leads to in the context
		if err != nil || !fi.Mode().IsRegular() || fi.Size() > maxInputFile {
			continue
		}
		f, err := fsys.Open(path.Join(sub, name))
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		_, err = buf.ReadFrom(f)
		f.Close()
		if err != nil {
			return "", fmt.Errorf("reading %s from the build context: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(into, name), buf.Bytes(), 0o644); err != nil {
			return "", err
		}
	}
	if named != "" {
		p := filepath.Join(dir, filepath.FromSlash(path.Clean(strings.TrimPrefix(named, "/"))))
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: not in the build context (read are %s, at most %d bytes each)", ArgRequirements, named, strings.Join(inputNames, ", "), maxInputFile)
		}
		return p, nil
	}
	p, err := reqfile.Discover(into)
	if err != nil {
		return "", fmt.Errorf("no Pipfile, pyproject.toml, requirements.in or requirements.txt at the top of the build context; name the input with --build-arg %s=PATH", ArgRequirements)
	}
	return p, nil
}

func matchesAny(name string) bool {
	for _, n := range inputNames {
		if ok, _ := path.Match(n, name); ok {
			return true
		}
	}
	return false
}

// advise1 resolves input for the analyzed image and returns the files of
// the lock context and a one-line summary.
func advise1(ctx context.Context, a *extract.Analysis, srcDir, input string, args map[string]string, cacheDir string) (map[string][]byte, string, error) {
	// Error messages name the file as it is in the context.
	relErr := func(err error) error {
		if err == nil {
			return nil
		}
		return errors.New(strings.ReplaceAll(err.Error(), srcDir+string(filepath.Separator), ""))
	}
	in, err := reqfile.Load(input)
	if err != nil {
		return nil, "", relErr(fmt.Errorf("reading %s: %w", input, err))
	}
	format := args[ArgFormat]
	if format == "" {
		format = "requirements"
	}
	if !slices.Contains([]string{"requirements", "pylock", "pipfile-lock"}, format) {
		return nil, "", fmt.Errorf("%s=%s: want requirements, pylock or pipfile-lock", ArgFormat, format)
	}
	s := advise.ImageSettings{Installed: advise.InstalledKeep, Recommendation: advise.RecommendLatest}
	if v := args[ArgRecommendation]; v != "" {
		if s.Recommendation, err = advise.ParseRecommendationType(v); err != nil {
			return nil, "", err
		}
		if s.Recommendation == advise.RecommendSecurity {
			return nil, "", fmt.Errorf("%s=security needs an advisory database, which the frontend does not read; use seshat advise --advisories", ArgRecommendation)
		}
	}
	if v := args[ArgInstalled]; v != "" {
		if s.Installed, err = advise.ParseInstalledMode(v); err != nil {
			return nil, "", err
		}
	}
	env, err := advise.NewImageEnvironment(a, args[ArgPython])
	if err != nil {
		return nil, "", err
	}
	tg := env.Target
	if err := tg.Validate(); err != nil {
		return nil, "", fmt.Errorf("the target of %s: %w", env.Reference, err)
	}
	indexes, err := advise.ChooseIndexes(in, advise.IndexChoice{EnvIndexURL: args[ArgIndexURL], Extra: strings.Fields(args[ArgExtraIndexURL])})
	if err != nil {
		return nil, "", relErr(err)
	}
	client, lockIdx, err := advise.NewIndexClient(in, indexes, index.WithCacheDir(filepath.Join(cacheDir, "http")))
	if err != nil {
		return nil, "", err
	}
	s.ABI = advise.NewABIChecker(client, filepath.Join(cacheDir, "abi"))
	res, rep, err := advise.ResolveImage(ctx, in, env, tg, client, s, advise.WithIndexes(lockIdx...))
	if err != nil {
		return nil, "", relErr(err)
	}

	files := map[string][]byte{}
	var buf bytes.Buffer
	switch format {
	case "requirements":
		err = lock.WriteRequirements(&buf, res.Lock, lock.RequirementsOptions{})
		files["requirements.lock"] = buf.Bytes()
	case "pylock":
		err = lock.WritePylock(&buf, res.Lock)
		files["pylock.toml"] = buf.Bytes()
	case "pipfile-lock":
		var pf *reqfile.Pipfile
		var synthesized []byte
		if pf, synthesized, err = lock.PipfileFor(in, indexes, "Pipfile"); err != nil {
			return nil, "", err
		}
		if synthesized != nil {
			files["Pipfile"] = synthesized
		}
		err = lock.WritePipfileLock(&buf, res.Lock, pf)
		files["Pipfile.lock"] = buf.Bytes()
	}
	if err != nil {
		return nil, "", fmt.Errorf("writing the %s: %w", format, err)
	}
	var rb bytes.Buffer
	if err := rep.WriteJSON(&rb); err != nil {
		return nil, "", err
	}
	files["seshat-report.json"] = rb.Bytes()
	summary := fmt.Sprintf("%d pins for %s (Python %s at %s", len(res.Pins), env.Reference, tg.PythonVersion, env.Invoked)
	if env.Libc != "" {
		summary += ", " + env.Libc
	}
	return files, summary + ")", nil
}

// handOff runs the Dockerfile frontend with every option this frontend was
// given, the lock (when not nil) as the named context LockContext.
func handOff(ctx context.Context, c client.Client, lockState *llb.State) (*client.Result, error) {
	opts := maps.Clone(c.BuildOpts().Opts)
	if opts == nil {
		opts = map[string]string{}
	}
	// The gateway's own keys: "source" named this frontend's image, and
	// "cmdline" (set when dockerfile.v0 forwarded a `# syntax=` line here)
	// stops dockerfile.v0 from forwarding to this frontend again.
	delete(opts, "source")
	if opts["cmdline"] == "" {
		opts["cmdline"] = "seshat-frontend"
	}
	inputs := map[string]*pb.Definition{}
	states, err := c.Inputs(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the frontend inputs: %w", err)
	}
	for name, st := range states {
		d, err := st.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		inputs[name] = d.ToPB()
	}
	if lockState != nil {
		def, err := lockState.Marshal(ctx)
		if err != nil {
			return nil, err
		}
		inputs[LockContext] = def.ToPB()
		opts["context:"+LockContext] = "input:" + LockContext
	}
	return c.Solve(ctx, client.SolveRequest{Frontend: "dockerfile.v0", FrontendOpt: opts, FrontendInputs: inputs})
}
