package extract

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// cudaExtractor fills Analysis.CUDA from the toolkit's version files, the
// cuDNN header, library file names and, last, the image config's env —
// what nvcc or nvidia-smi would say, without running either.
type cudaExtractor struct{}

// NewCUDAExtractor returns the extractor of the cuda section.
func NewCUDAExtractor() Extractor { return cudaExtractor{} }

func (cudaExtractor) Name() string { return "cuda" }

// maxCUDAFile bounds the version files and headers kept (cudnn.h of cuDNN
// 7 is ~100 KiB; anything far larger is not what we look for).
const maxCUDAFile = 1 << 20

func (cudaExtractor) Wants(p string, size int64) bool {
	if size > maxCUDAFile {
		return false
	}
	base := path.Base(p)
	switch base {
	case "version.json", "version.txt":
		// /usr/local/cuda/version.json, /usr/local/cuda-11.8/version.txt
		return strings.HasPrefix(p, "/usr/local/cuda") && strings.Count(p, "/") == 4
	case "cudnn_version.h", "cudnn.h":
		return strings.HasPrefix(p, "/usr/include/") || (strings.HasPrefix(p, "/usr/local/cuda") && strings.Contains(p, "/include/"))
	}
	return strings.HasPrefix(base, "cudnn_version") && strings.HasSuffix(base, ".h") && strings.HasPrefix(p, "/usr/include/")
}

var (
	reCUDAText   = regexp.MustCompile(`CUDA Version ([0-9]+\.[0-9]+(?:\.[0-9]+)?)`)
	reCuDNNMacro = regexp.MustCompile(`(?m)^\s*#\s*define\s+CUDNN_(MAJOR|MINOR|PATCHLEVEL)\s+([0-9]+)\b`)
	reLibVersion = regexp.MustCompile(`^lib(cudart|cudnn)\.so\.([0-9]+(?:\.[0-9]+)*)$`)
)

func (cudaExtractor) Extract(ctx context.Context, ix *FileIndex, a *Analysis) error {
	warn := func(p, format string, args ...any) {
		a.Warnings = append(a.Warnings, Warning{Path: p, Message: fmt.Sprintf(format, args...)})
	}
	c := &CUDA{}
	c.Version, c.Source = cudaFromFiles(ix, warn)
	libCUDA, libCUDASrc, libCuDNN, libCuDNNSrc := cudaFromLibraries(ix)
	if c.Version == "" && libCUDA != "" {
		c.Version, c.Source = libCUDA, libCUDASrc
	}
	if env, ok := configEnv(a.Image.Config.Env, "CUDA_VERSION"); ok && env != "" {
		switch {
		case c.Version == "":
			c.Version, c.Source = env, "env:CUDA_VERSION"
		case !sameMajorMinor(c.Version, env):
			warn(c.Source, "CUDA version %s from %s disagrees with CUDA_VERSION=%s in the image config; using the file", c.Version, c.Source, env)
		}
	}

	c.CuDNNVersion, c.CuDNNSource = cudnnFromHeaders(ix, warn)
	if c.CuDNNVersion == "" && libCuDNN != "" {
		c.CuDNNVersion, c.CuDNNSource = libCuDNN, libCuDNNSrc
	}
	for _, key := range []string{"CUDNN_VERSION", "NV_CUDNN_VERSION"} {
		env, ok := configEnv(a.Image.Config.Env, key)
		if !ok || env == "" {
			continue
		}
		// NV_CUDNN_VERSION carries a Debian revision: 8.9.0.131-1.
		env, _, _ = strings.Cut(env, "-")
		switch {
		case c.CuDNNVersion == "":
			c.CuDNNVersion, c.CuDNNSource = env, "env:"+key
		case !sameMajorMinor(c.CuDNNVersion, env) && strings.Contains(c.CuDNNVersion, "."):
			warn(c.CuDNNSource, "cuDNN version %s from %s disagrees with %s=%s in the image config; using the file", c.CuDNNVersion, c.CuDNNSource, key, env)
		}
		break
	}
	if c.Version == "" && c.CuDNNVersion == "" {
		return nil
	}
	a.CUDA = c
	return nil
}

// cudaFromFiles reads the toolkit's version.json (CUDA 11.1+) or
// version.txt, preferring /usr/local/cuda and then the newest
// /usr/local/cuda-X.Y.
func cudaFromFiles(ix *FileIndex, warn func(p, format string, args ...any)) (string, string) {
	var dirs []string
	if m, err := ix.Stat("/usr/local/cuda"); err == nil && m.Type == TypeDir {
		dirs = append(dirs, "/usr/local/cuda")
	}
	others := ix.Glob("/usr/local/cuda-*")
	sort.Slice(others, func(i, j int) bool {
		return dottedVersionLess(strings.TrimPrefix(others[j], "/usr/local/cuda-"), strings.TrimPrefix(others[i], "/usr/local/cuda-"))
	})
	dirs = append(dirs, others...)
	for _, d := range dirs {
		real, err := ix.Resolve(d)
		if err != nil {
			continue
		}
		if p := path.Join(real, "version.json"); isRegularFile(ix, p) {
			b, err := ix.ReadFile(p)
			if err != nil {
				warn(p, "reading CUDA version: %v", err)
				continue
			}
			var doc map[string]struct {
				Version string `json:"version"`
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				warn(p, "parsing CUDA version.json: %v", err)
				continue
			}
			if v := normalizeCUDA(doc["cuda"].Version); v != "" {
				return v, p
			}
			warn(p, "no \"cuda\" version in version.json")
		}
		if p := path.Join(real, "version.txt"); isRegularFile(ix, p) {
			b, err := ix.ReadFile(p)
			if err != nil {
				warn(p, "reading CUDA version: %v", err)
				continue
			}
			if m := reCUDAText.FindSubmatch(b); m != nil {
				return string(m[1]), p
			}
			warn(p, "no \"CUDA Version x.y\" line in version.txt")
		}
	}
	return "", ""
}

// normalizeCUDA drops the build date some installers put as the third
// field ("11.8.20220929" is CUDA 11.8), keeping a real patch level.
func normalizeCUDA(v string) string {
	parts := strings.Split(v, ".")
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return ""
		}
	}
	if len(parts) >= 3 && len(parts[2]) >= 8 {
		return parts[0] + "." + parts[1]
	}
	return v
}

// cudaFromLibraries finds versions in libcudart / libcudnn file names.
// Only a full file name (libcudart.so.11.8.89) tells the CUDA release:
// since 11.0 the soname (libcudart.so.11.0, libcudart.so.12) names only
// the major version, so two-part names count only up to CUDA 10.
func cudaFromLibraries(ix *FileIndex) (cuda, cudaSrc, cudnn, cudnnSrc string) {
	for _, p := range ix.Paths() {
		base := path.Base(p)
		if !strings.HasPrefix(base, "libcud") {
			continue
		}
		m := reLibVersion.FindStringSubmatch(base)
		if m == nil {
			continue
		}
		v := m[2]
		switch m[1] {
		case "cudart":
			parts := strings.Split(v, ".")
			major, _ := strconv.Atoi(parts[0])
			if len(parts) < 3 && (major >= 11 || len(parts) < 2) {
				continue
			}
			if cuda == "" || dottedVersionLess(cuda, v) {
				cuda, cudaSrc = v, p
			}
		case "cudnn":
			if cudnn == "" || dottedVersionLess(cudnn, v) || (strings.Count(v, ".") > strings.Count(cudnn, ".") && sameMajorMinor(v, cudnn)) {
				cudnn, cudnnSrc = v, p
			}
		}
	}
	return cuda, cudaSrc, cudnn, cudnnSrc
}

// cudnnFromHeaders reads CUDNN_MAJOR/MINOR/PATCHLEVEL from cudnn_version.h
// (cuDNN 8+) or cudnn.h (older).
func cudnnFromHeaders(ix *FileIndex, warn func(p, format string, args ...any)) (string, string) {
	var cands []string
	for _, pat := range []string{
		"/usr/include/cudnn_version.h", "/usr/include/*/cudnn_version*.h",
		"/usr/local/cuda/include/cudnn_version.h", "/usr/local/cuda-*/include/cudnn_version.h",
		"/usr/include/cudnn.h", "/usr/include/*/cudnn.h", "/usr/local/cuda/include/cudnn.h", "/usr/local/cuda-*/include/cudnn.h",
	} {
		if !strings.Contains(pat, "*") {
			if isRegularFile(ix, pat) {
				cands = append(cands, pat)
			}
			continue
		}
		cands = append(cands, globResolved(ix, pat)...)
	}
	for _, p := range cands {
		b, err := ix.ReadFile(p)
		if err != nil {
			warn(p, "reading cuDNN header: %v", err)
			continue
		}
		got := map[string]string{}
		for _, m := range reCuDNNMacro.FindAllSubmatch(b, -1) {
			if _, dup := got[string(m[1])]; !dup {
				got[string(m[1])] = string(m[2])
			}
		}
		if got["MAJOR"] == "" || got["MINOR"] == "" {
			continue // cudnn.h of cuDNN 8+ includes cudnn_version.h instead
		}
		v := got["MAJOR"] + "." + got["MINOR"]
		if got["PATCHLEVEL"] != "" {
			v += "." + got["PATCHLEVEL"]
		}
		return v, p
	}
	return "", ""
}

func isRegularFile(ix *FileIndex, p string) bool {
	m, err := ix.Stat(p)
	return err == nil && m.Type == TypeRegular
}

// configEnv finds KEY=value in an image config's env (the last one wins,
// as in a shell).
func configEnv(env []string, key string) (string, bool) {
	val, found := "", false
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// sameMajorMinor compares the major.minor part of two versions.
func sameMajorMinor(a, b string) bool {
	mm := func(v string) string {
		parts := strings.SplitN(v, ".", 3)
		if len(parts) >= 2 {
			return parts[0] + "." + parts[1]
		}
		return parts[0]
	}
	return mm(a) == mm(b)
}

// dottedVersionLess compares dotted numeric versions; non-numbers sort first.
func dottedVersionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, ex := strconv.Atoi(pa[i])
		y, ey := strconv.Atoi(pb[i])
		if ex != nil || ey != nil {
			if pa[i] != pb[i] {
				return pa[i] < pb[i]
			}
			continue
		}
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}
