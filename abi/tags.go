package abi

import (
	"debug/elf"
	"fmt"
	"strconv"
	"strings"
)

// wheelArch maps GOARCH-style platform architectures (as in an image's
// config) to the names wheel platform tags use.
var wheelArch = map[string]string{
	"amd64":    "x86_64",
	"arm64":    "aarch64",
	"386":      "i686",
	"ppc64le":  "ppc64le",
	"ppc64":    "ppc64",
	"s390x":    "s390x",
	"riscv64":  "riscv64",
	"loong64":  "loongarch64",
	"mips64le": "mips64el",
	"mips64":   "mips64",
	"mipsle":   "mipsel",
	"mips":     "mips",
}

// WheelArch returns the wheel-tag name of an image platform's architecture
// and variant (e.g. "amd64" → "x86_64", "arm" "v7" → "armv7l"). Names that
// are already wheel-style (x86_64, aarch64, …) pass through; "" means the
// architecture is unknown.
func WheelArch(arch, variant string) string {
	if a, ok := wheelArch[arch]; ok {
		return a
	}
	switch arch {
	case "arm":
		switch variant {
		case "v6":
			return "armv6l"
		case "v5":
			return "armv5l"
		default: // v7 is what "arm" means for Docker images without a variant
			return "armv7l"
		}
	case "x86_64", "aarch64", "i686", "armv7l", "armv6l", "loongarch64", "mips64el", "mipsel":
		return arch
	}
	return ""
}

// ArchFromMachine names an ELF machine the way wheel tags do, or "".
func ArchFromMachine(m elf.Machine, d elf.Data) string {
	switch m {
	case elf.EM_X86_64:
		return "x86_64"
	case elf.EM_AARCH64:
		return "aarch64"
	case elf.EM_386:
		return "i686"
	case elf.EM_PPC64:
		if d == elf.ELFDATA2LSB {
			return "ppc64le"
		}
		return "ppc64"
	case elf.EM_S390:
		return "s390x"
	case elf.EM_ARM:
		return "armv7l"
	case elf.EM_RISCV:
		return "riscv64"
	case elf.EM_LOONGARCH:
		return "loongarch64"
	}
	return ""
}

// Legacy manylinux names (PEP 513, 571, 599) and the arches each covers.
var legacyManylinux = map[int]struct {
	name   string
	arches map[string]bool
}{
	17: {"manylinux2014", map[string]bool{"x86_64": true, "i686": true, "aarch64": true, "armv7l": true, "ppc64": true, "ppc64le": true, "s390x": true}},
	12: {"manylinux2010", map[string]bool{"x86_64": true, "i686": true}},
	5:  {"manylinux1", map[string]bool{"x86_64": true, "i686": true}},
}

// PlatformTags lists the wheel platform tags an image with this libc on
// arch (wheel-tag spelling, see WheelArch) accepts, most specific first:
// for glibc 2.Y, manylinux_2_Y_ARCH down to manylinux_2_17 (manylinux_2_5
// on x86_64 and i686) as PEP 600 says, each followed by its legacy alias
// where one exists; for musl 1.Y, musllinux_1_Y_ARCH down to musllinux_1_0
// (PEP 656); then linux_ARCH. An unknown libc yields only linux_ARCH, and
// an empty arch yields nil.
func PlatformTags(libc Libc, arch string) []string {
	if arch == "" {
		return nil
	}
	var tags []string
	major, minor, ok := majorMinor(libc.Version)
	switch {
	case !ok:
	case libc.Family == "glibc" && major == 2:
		lowest := 17
		if arch == "x86_64" || arch == "i686" {
			lowest = 5
		}
		for y := minor; y >= lowest; y-- {
			tags = append(tags, fmt.Sprintf("manylinux_2_%d_%s", y, arch))
			if l, ok := legacyManylinux[y]; ok && l.arches[arch] {
				tags = append(tags, l.name+"_"+arch)
			}
		}
	case libc.Family == "musl" && major == 1:
		for y := minor; y >= 0; y-- {
			tags = append(tags, fmt.Sprintf("musllinux_1_%d_%s", y, arch))
		}
	}
	return append(tags, "linux_"+arch)
}

// majorMinor reads "X.Y" or "X.Y.Z" into X and Y.
func majorMinor(v string) (int, int, bool) {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return 0, 0, false
	}
	x, err1 := strconv.Atoi(parts[0])
	y, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || x < 0 || y < 0 || y > 1000 {
		return 0, 0, false
	}
	return x, y, true
}
