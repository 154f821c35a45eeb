package advise

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/seshat-dev/seshat/advise/pep440"
)

// cudaLocal matches the local version label of a CUDA build: "cu121" is
// CUDA 12.1, "cu118" 11.8, "cu92" 9.2 (the last digit is the minor).
var cudaLocal = regexp.MustCompile(`^cu(\d+)(\d)$`)

// cudaVariant reads a local version label: ok is false for a version that
// is not a CUDA or CPU build; cpu is true for "+cpu".
func cudaVariant(v pep440.Version) (major, minor int, cpu, ok bool) {
	local := strings.ToLower(v.Local())
	if local == "cpu" {
		return 0, 0, true, true
	}
	m := cudaLocal.FindStringSubmatch(local)
	if m == nil {
		return 0, 0, false, false
	}
	major, _ = strconv.Atoi(m[1])
	minor, _ = strconv.Atoi(m[2])
	return major, minor, false, true
}

// cudaExclude refuses the local-version variants (torch 2.3.1+cu121,
// +cu118, +cpu) that do not fit an image's CUDA ("12.1", or "" for none):
// a CUDA build needs the image's major version and a minor not above the
// image's; an image without CUDA takes no CUDA build; an image with CUDA
// takes no CPU-only build. Among the variants left, the resolver's usual
// newest-first order puts the highest minor first.
func cudaExclude(imageCUDA string) func(name string, v pep440.Version) string {
	imMajor, imMinor := -1, -1
	if imageCUDA != "" {
		f := strings.SplitN(imageCUDA, ".", 3)
		imMajor, _ = strconv.Atoi(f[0])
		imMinor = 0
		if len(f) > 1 {
			imMinor, _ = strconv.Atoi(f[1])
		}
	}
	return func(_ string, v pep440.Version) string {
		major, minor, cpu, ok := cudaVariant(v)
		switch {
		case !ok:
			return ""
		case cpu && imMajor >= 0:
			return fmt.Sprintf("a CPU-only build (+%s), and the image has CUDA %s", v.Local(), imageCUDA)
		case cpu:
			return ""
		case imMajor < 0:
			return fmt.Sprintf("a CUDA %d.%d build (+%s), and the image has no CUDA", major, minor, v.Local())
		case major != imMajor:
			return fmt.Sprintf("built for CUDA %d.%d (+%s), and the image has CUDA %s (another major version)", major, minor, v.Local(), imageCUDA)
		case minor > imMinor:
			return fmt.Sprintf("built for CUDA %d.%d (+%s), newer than the image's CUDA %s", major, minor, v.Local(), imageCUDA)
		}
		return ""
	}
}
