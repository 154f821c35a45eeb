package extract

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"sync"

	"github.com/seshat-dev/seshat/abi"
)

// abiExtractor fills Analysis.ABI: the libc, the shared objects on the
// loader path with their sonames and symbol versions, and the wheel
// platform tags the image accepts.
//
// ld.so.conf names the loader's extra directories, but the walk goes top
// layer down, so a library may stream past before the conf file that puts
// its directory on the path. It therefore reads every shared object
// outside Python package trees, and chooses the loader-path ones at
// Extract.
type abiExtractor struct {
	mu        sync.Mutex
	objects   map[string]*abi.Object
	musl      map[string]string // file → musl version found in its bytes
	notELF    map[string]bool   // named like a library, but not ELF (nor a linker script)
	maxConfig int64
}

// NewABIExtractor returns the extractor of the abi section.
func NewABIExtractor() StreamExtractor {
	return &abiExtractor{objects: map[string]*abi.Object{}, musl: map[string]string{}, notELF: map[string]bool{}, maxConfig: 1 << 20}
}

func (e *abiExtractor) Name() string { return "abi" }

// Wants keeps the loader configuration files.
func (e *abiExtractor) Wants(p string, size int64) bool {
	if size > e.maxConfig {
		return false
	}
	return p == "/etc/ld.so.conf" || strings.HasPrefix(p, "/etc/ld.so.conf.d/") ||
		(strings.HasPrefix(p, "/etc/ld-musl-") && strings.HasSuffix(p, ".path"))
}

// WantsStream asks for every file named like a shared object or a musl
// loader, except inside Python package trees (extension modules are never
// on the loader path and can be huge).
func (e *abiExtractor) WantsStream(p string, size int64) bool {
	if size < 4 {
		return false
	}
	if strings.Contains(p, "/site-packages/") || strings.Contains(p, "/dist-packages/") || strings.Contains(p, "/lib-dynload/") {
		return false
	}
	return looksLikeSharedObject(path.Base(p))
}

// looksLikeSharedObject matches *.so, *.so.*, and ld-musl-*.
func looksLikeSharedObject(name string) bool {
	return strings.HasSuffix(name, ".so") || strings.Contains(name, ".so.") || strings.HasPrefix(name, "ld-musl-")
}

// muslCandidate names the files whose bytes may hold musl's version:
// Alpine's loader is the libc itself, Debian's musl package ships libc.so.
func muslCandidate(name string) bool {
	return strings.HasPrefix(name, "ld-musl-") || strings.HasPrefix(name, "libc.musl-") || name == "libc.so"
}

func (e *abiExtractor) Stream(p string, size int64, r io.Reader) error {
	var head [64]byte
	n, _ := io.ReadFull(r, head[:])
	r = io.MultiReader(bytes.NewReader(head[:n]), r)
	var ms *abi.MuslScanner
	if muslCandidate(path.Base(p)) {
		ms = &abi.MuslScanner{}
		r = io.TeeReader(r, ms)
	}
	obj, err := abi.ReadELF(r, size)
	if ms != nil {
		// The version string sits in .rodata, past what ReadELF keeps.
		if _, cerr := io.Copy(io.Discard, r); cerr != nil && err == nil {
			err = cerr
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if ms != nil && ms.Version() != "" && err == nil {
		e.musl[p] = ms.Version()
	}
	switch {
	case errors.Is(err, abi.ErrNotELF):
		if !isLinkerScript(head[:n]) {
			e.notELF[p] = true
		}
		return nil
	case err != nil:
		return fmt.Errorf("reading ELF: %w", err)
	}
	e.objects[p] = obj
	return nil
}

// isLinkerScript recognizes the GNU ld scripts installed as libc.so and
// friends in -dev packages: text, legitimately named like a library.
func isLinkerScript(head []byte) bool {
	s := string(head)
	return strings.HasPrefix(s, "/* GNU ld script") || strings.HasPrefix(s, "GROUP") || strings.HasPrefix(s, "INPUT") || strings.HasPrefix(s, "OUTPUT_FORMAT")
}

// standardLibDirs are searched by glibc's and musl's loaders without any
// configuration (plus the multiarch triplet directories, found by glob).
var standardLibDirs = []string{"/lib", "/lib64", "/usr/lib", "/usr/lib64", "/usr/local/lib", "/usr/local/lib64"}

func (e *abiExtractor) Extract(ctx context.Context, ix *FileIndex, a *Analysis) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.objects) == 0 {
		return nil
	}
	warn := func(p, format string, args ...any) {
		a.Warnings = append(a.Warnings, Warning{Path: p, Message: fmt.Sprintf(format, args...)})
	}
	dirs := map[string]bool{}
	addDir := func(d string) {
		if r, err := ix.Resolve(d); err == nil {
			dirs[r] = true
		}
	}
	for _, d := range standardLibDirs {
		addDir(d)
	}
	for _, base := range []string{"/lib", "/usr/lib"} {
		for _, d := range ix.Glob(base + "/*-linux-*") {
			if m, err := ix.Stat(d); err == nil && m.Type == TypeDir {
				addDir(d)
			}
		}
	}
	for _, d := range ldSoConfDirs(ix, warn) {
		addDir(d)
	}
	for _, conf := range ix.Glob("/etc/ld-musl-*.path") {
		b, err := ix.ReadFile(conf)
		if err != nil {
			warn(conf, "reading musl loader path: %v", err)
			continue
		}
		for _, d := range strings.FieldsFunc(string(b), func(r rune) bool { return r == ':' || r == '\n' || r == ' ' || r == '\t' }) {
			addDir(d)
		}
	}

	rep := &abi.Report{Libraries: []abi.Library{}, Symbols: map[string][]string{}}
	paths := make([]string, 0, len(e.objects))
	for p := range e.objects {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var defs [][]string
	for _, p := range paths {
		if !onLoaderPath(ix, p, dirs) {
			continue
		}
		o := e.objects[p]
		if o.Type != elf.ET_DYN { // relocatable objects and fixed-address executables are never loaded as libraries
			continue
		}
		rep.Libraries = append(rep.Libraries, abi.Library{
			Path:               p,
			Soname:             o.Soname,
			Needed:             nonNil(o.Needed),
			VersionDefinitions: nonNil(o.VersionDefinitions),
		})
		defs = append(defs, o.VersionDefinitions)
	}
	for p := range e.notELF {
		if onLoaderPath(ix, p, dirs) {
			warn(p, "named like a shared library but not an ELF file; skipped")
		}
	}
	rep.Symbols = abi.Symbols(defs...)

	var libcObj *abi.Object
	rep.Libc, libcObj = e.findLibc(ix)
	arch := abi.WheelArch(a.Image.Platform.Architecture, a.Image.Platform.Variant)
	if arch == "" && libcObj != nil {
		arch = libcObj.Arch()
	}
	if rep.Libc != nil {
		rep.PlatformTags = abi.PlatformTags(*rep.Libc, arch)
	} else {
		rep.PlatformTags = abi.PlatformTags(abi.Libc{}, arch)
	}
	if rep.PlatformTags == nil {
		rep.PlatformTags = []string{}
	}
	a.ABI = rep
	return nil
}

// onLoaderPath reports whether the directory holding p is one the loader
// searches (comparing resolved directories, since /lib may link to usr/lib).
func onLoaderPath(ix *FileIndex, p string, dirs map[string]bool) bool {
	d, err := ix.Resolve(path.Dir(p))
	return err == nil && dirs[d]
}

// findLibc prefers glibc (libc.so.6) and falls back to musl's loader.
func (e *abiExtractor) findLibc(ix *FileIndex) (*abi.Libc, *abi.Object) {
	var cands []string
	for _, d := range []string{"/lib64", "/usr/lib64", "/lib", "/usr/lib"} {
		cands = append(cands, d+"/libc.so.6")
	}
	cands = append(cands, ix.Glob("/lib/*/libc.so.6")...)
	cands = append(cands, ix.Glob("/usr/lib/*/libc.so.6")...)
	for _, c := range cands {
		real, err := ix.Resolve(c)
		if err != nil {
			continue
		}
		o, ok := e.objects[real]
		if !ok {
			continue
		}
		if v := abi.GlibcVersion(o); v != "" {
			return &abi.Libc{Family: "glibc", Version: v, Path: real}, o
		}
	}
	for _, base := range []string{"/lib", "/usr/lib"} {
		for _, c := range ix.Glob(base + "/ld-musl-*.so.1") {
			real, err := ix.Resolve(c)
			if err != nil {
				continue
			}
			if v, ok := e.musl[real]; ok {
				return &abi.Libc{Family: "musl", Version: v, Path: real}, e.objects[real]
			}
		}
	}
	return nil, nil
}

// maxConfDepth bounds include recursion in ld.so.conf files.
const maxConfDepth = 8

// ldSoConfDirs reads /etc/ld.so.conf and the files it includes (glob
// patterns, relative to the including file's directory) for directories.
func ldSoConfDirs(ix *FileIndex, warn func(p, format string, args ...any)) []string {
	var dirs []string
	seen := map[string]bool{}
	var read func(p string, depth int)
	read = func(p string, depth int) {
		if seen[p] {
			return
		}
		seen[p] = true
		if depth > maxConfDepth {
			warn(p, "ld.so.conf includes nest deeper than %d; ignored", maxConfDepth)
			return
		}
		b, err := ix.ReadFile(p)
		if err != nil {
			warn(p, "reading loader configuration: %v", err)
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if i := strings.IndexByte(line, '#'); i >= 0 {
				line = line[:i]
			}
			fields := strings.Fields(line)
			if len(fields) == 0 {
				continue
			}
			switch fields[0] {
			case "include":
				for _, pat := range fields[1:] {
					if !path.IsAbs(pat) {
						pat = path.Join(path.Dir(p), pat)
					}
					for _, inc := range globResolved(ix, pat) {
						read(inc, depth+1)
					}
				}
			case "hwcap":
			default:
				for _, f := range strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == ':' }) {
					if i := strings.IndexByte(f, '='); i >= 0 { // old "dir=TYPE" form
						f = f[:i]
					}
					if path.IsAbs(f) {
						dirs = append(dirs, CleanPath(f))
					}
				}
			}
		}
	}
	if _, ok := ix.Lookup("/etc/ld.so.conf"); ok {
		read("/etc/ld.so.conf", 0)
	}
	return dirs
}

// globResolved matches pat against the index after resolving the
// pattern's directory, which may be a symlink.
func globResolved(ix *FileIndex, pat string) []string {
	dir, base := path.Split(pat)
	if rd, err := ix.Resolve(dir); err == nil {
		dir = rd
	}
	var out []string
	for _, m := range ix.Glob(path.Join(dir, base)) {
		if meta, err := ix.Stat(m); err == nil && meta.Type == TypeRegular {
			out = append(out, m)
		}
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
