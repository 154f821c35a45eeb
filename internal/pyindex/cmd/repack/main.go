// Command repack turns an installed Debian python3-* package (a directory made
// by `dpkg-deb -x`) back into a wheel, for the test index's real corpus.
//
// It keeps the package's modules and its .dist-info (or converts an .egg-info:
// PKG-INFO plus requires.txt become METADATA with Requires-Dist lines), writes
// WHEEL and RECORD, and tags compiled packages with the Python ABI given and
// the manylinux level that their .so files really need (the highest GLIBC_x.y
// version they import). The output is deterministic: fixed timestamps and
// sorted entries, so the wheel's sha256 is the same on every run.
//
//	repack -root /tmp/x/python3-flask -abi cp313 -out wheels/
package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	root := flag.String("root", "", "directory a .deb was extracted into")
	abi := flag.String("abi", "", "CPython tag for compiled packages, e.g. cp313")
	out := flag.String("out", ".", "directory to write the wheel into")
	flag.Parse()
	if *root == "" || *abi == "" {
		fmt.Fprintln(os.Stderr, "usage: repack -root DIR -abi cpXY [-out DIR]")
		os.Exit(2)
	}
	name, err := repack(*root, *abi, *out)
	if err != nil {
		fmt.Fprintf(os.Stderr, "repack %s: %v\n", *root, err)
		os.Exit(1)
	}
	fmt.Println(name)
}

// epoch is the fixed timestamp of every entry (zip cannot store dates before 1980).
var epoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

type entry struct {
	name string
	data []byte
	mode fs.FileMode
}

func repack(root, abi, outDir string) (string, error) {
	sp := filepath.Join(root, "usr/lib/python3/dist-packages")
	dirents, err := os.ReadDir(sp)
	if err != nil {
		return "", err
	}
	var metaDir string
	for _, d := range dirents {
		if strings.HasSuffix(d.Name(), ".dist-info") || strings.HasSuffix(d.Name(), ".egg-info") {
			if metaDir != "" {
				return "", fmt.Errorf("two metadata directories: %s and %s", metaDir, d.Name())
			}
			metaDir = d.Name()
		}
	}
	if metaDir == "" {
		return "", errors.New("no .dist-info or .egg-info in dist-packages")
	}
	meta, extra, err := readMetadata(filepath.Join(sp, metaDir))
	if err != nil {
		return "", err
	}
	name, version := header(meta, "Name"), header(meta, "Version")
	if name == "" || version == "" {
		return "", fmt.Errorf("%s: metadata lacks Name or Version", metaDir)
	}
	escaped := strings.ToLower(regexp.MustCompile(`[-_.]+`).ReplaceAllString(name, "_"))
	distInfo := escaped + "-" + version + ".dist-info"

	var files []entry
	glibc, arch := 0, ""
	err = filepath.WalkDir(sp, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(sp, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if d.Name() == "__pycache__" || rel == metaDir {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(rel, ".pyc") || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if strings.HasSuffix(rel, ".so") {
			mode = 0o755
			minor, a, err := glibcNeed(p)
			if err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			glibc, arch = max(glibc, minor), a
		}
		files = append(files, entry{name: rel, data: b, mode: mode})
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })

	tag, pure := "py3-none-any", true
	if arch != "" {
		pure = false
		tag = fmt.Sprintf("%s-%s-manylinux_2_%d_%s", abi, abi, max(glibc, 17), arch)
	}
	wheelFile := fmt.Sprintf("Wheel-Version: 1.0\nGenerator: seshat-repack\nRoot-Is-Purelib: %t\nTag: %s\n\n", pure, tag)
	files = append(files, entry{distInfo + "/METADATA", meta, 0o644})
	for _, e := range extra {
		files = append(files, entry{distInfo + "/" + e.name, e.data, 0o644})
	}
	files = append(files, entry{distInfo + "/WHEEL", []byte(wheelFile), 0o644})

	var record bytes.Buffer
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", csvField(f.name), base64.RawURLEncoding.EncodeToString(sum[:]), len(f.data))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", distInfo)
	files = append(files, entry{distInfo + "/RECORD", record.Bytes(), 0o644})

	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: epoch}
		h.SetMode(f.mode)
		w, err := zw.CreateHeader(h)
		if err != nil {
			return "", err
		}
		if _, err := w.Write(f.data); err != nil {
			return "", err
		}
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	filename := fmt.Sprintf("%s-%s-%s.whl", escaped, version, tag)
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	return filename, os.WriteFile(filepath.Join(outDir, filename), buf.Bytes(), 0o644)
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// readMetadata returns METADATA bytes and the other metadata files worth
// keeping (entry points, top_level, licenses) from a .dist-info or .egg-info.
func readMetadata(dir string) ([]byte, []entry, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, nil, err
	}
	if !st.IsDir() { // an .egg-info can be a lone PKG-INFO file
		b, err := os.ReadFile(dir)
		return b, nil, err
	}
	var extra []entry
	keep := map[string]bool{"entry_points.txt": true, "top_level.txt": true}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, e := range ents {
		if e.Type().IsRegular() && (keep[e.Name()] || strings.HasPrefix(e.Name(), "LICEN")) {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return nil, nil, err
			}
			extra = append(extra, entry{name: e.Name(), data: b})
		}
	}
	if strings.HasSuffix(dir, ".dist-info") {
		b, err := os.ReadFile(filepath.Join(dir, "METADATA"))
		return b, extra, err
	}
	pkgInfo, err := os.ReadFile(filepath.Join(dir, "PKG-INFO"))
	if err != nil {
		return nil, nil, err
	}
	req, err := os.ReadFile(filepath.Join(dir, "requires.txt"))
	if errors.Is(err, fs.ErrNotExist) {
		return pkgInfo, extra, nil
	} else if err != nil {
		return nil, nil, err
	}
	return mergeRequires(pkgInfo, req), extra, nil
}

// header returns the first value of a metadata header.
func header(meta []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(meta))
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// mergeRequires adds setuptools' requires.txt to PKG-INFO as Requires-Dist and
// Provides-Extra headers. A section "[extra:marker]" or "[:marker]" scopes its
// lines to that extra and/or marker.
func mergeRequires(pkgInfo, requires []byte) []byte {
	if header(pkgInfo, "Requires-Dist") != "" {
		return pkgInfo
	}
	var add []string
	extras := map[string]bool{}
	for _, line := range strings.Split(string(pkgInfo), "\n") {
		if v, ok := strings.CutPrefix(line, "Provides-Extra:"); ok {
			extras[strings.TrimSpace(v)] = true
		}
	}
	extra, marker := "", ""
	for _, line := range strings.Split(string(requires), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			extra, marker, _ = strings.Cut(line[1:len(line)-1], ":")
			if extra != "" && !extras[extra] {
				extras[extra] = true
				add = append(add, "Provides-Extra: "+extra)
			}
			continue
		}
		req, own, _ := strings.Cut(line, ";")
		var conds []string
		for _, m := range []string{strings.TrimSpace(own), marker} {
			if m != "" {
				conds = append(conds, "("+m+")")
			}
		}
		if extra != "" {
			conds = append(conds, `extra == "`+extra+`"`)
		}
		r := strings.TrimSpace(req)
		if len(conds) == 1 && extra == "" {
			conds[0] = strings.TrimSuffix(strings.TrimPrefix(conds[0], "("), ")")
		}
		if len(conds) > 0 {
			r += "; " + strings.Join(conds, " and ")
		}
		add = append(add, "Requires-Dist: "+r)
	}
	head, body, _ := bytes.Cut(pkgInfo, []byte("\n\n"))
	var out bytes.Buffer
	out.Write(head)
	for _, a := range add {
		out.WriteString("\n" + a)
	}
	out.WriteString("\n\n")
	out.Write(body)
	return out.Bytes()
}

// glibcNeed returns the highest GLIBC_2.x minor version the ELF file imports,
// and its wheel architecture name.
func glibcNeed(p string) (int, string, error) {
	f, err := elf.Open(p)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	arch := map[elf.Machine]string{elf.EM_X86_64: "x86_64", elf.EM_AARCH64: "aarch64", elf.EM_386: "i686"}[f.Machine]
	if arch == "" {
		return 0, "", fmt.Errorf("unsupported machine %v", f.Machine)
	}
	if f.Section(".gnu.version_r") == nil {
		return 0, arch, nil // imports no versioned symbols at all
	}
	needs, err := f.DynamicVersionNeeds()
	if err != nil {
		return 0, "", err
	}
	best := 0
	for _, n := range needs {
		for _, v := range n.Needs {
			rest, ok := strings.CutPrefix(v.Dep, "GLIBC_2.")
			if !ok {
				continue
			}
			if m, err := strconv.Atoi(strings.SplitN(rest, ".", 2)[0]); err == nil {
				best = max(best, m)
			}
		}
	}
	return best, arch, nil
}
