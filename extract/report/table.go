package report

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/seshat-dev/seshat/extract"
)

// Table writes a readable summary of a: the image, its OS, packages by
// type and the first rows of each list, the Python, ABI and CUDA sections
// when the analysis has them, and every warning.
func Table(w io.Writer, a *extract.Analysis, opts ...Option) error {
	o := newOptions(opts)
	t := &table{w: w, max: o.maxRows}
	t.image(a)
	t.packages(a.Packages)
	t.python(a.Python)
	t.abi(a)
	t.cuda(a.CUDA)
	t.warnings(a.Warnings)
	return t.err
}

// table accumulates the first write error, so sections stay linear.
type table struct {
	w   io.Writer
	max int
	err error
}

func (t *table) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// rows writes one aligned block: a header line and rows of cells.
func (t *table) rows(header []string, rows [][]string) {
	if t.err != nil {
		return
	}
	tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  "+strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, "  "+strings.Join(r, "\t"))
	}
	t.err = tw.Flush()
}

// limit keeps the first t.max rows and says how many were left out.
func (t *table) limit(rows [][]string, what string) [][]string {
	if t.max <= 0 || len(rows) <= t.max {
		return rows
	}
	more := len(rows) - t.max
	rows = append(rows[:t.max:t.max], []string{fmt.Sprintf("… and %d more %s (--format json lists all)", more, what)})
	return rows
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (t *table) image(a *extract.Analysis) {
	im := a.Image
	kv := [][]string{{"Image", im.Reference}}
	if im.Digest != "" {
		kv = append(kv, []string{"Digest", im.Digest})
	}
	p := im.Platform.OS + "/" + im.Platform.Architecture
	if im.Platform.Variant != "" {
		p += "/" + im.Platform.Variant
	}
	kv = append(kv, []string{"Platform", strings.Trim(p, "/")})
	if im.Created != nil {
		kv = append(kv, []string{"Created", im.Created.UTC().Format(time.RFC3339)})
	}
	kv = append(kv, []string{"Size", fmt.Sprintf("%s in %d layers", humanBytes(im.Size), len(im.Layers))})
	if im.Config.User != "" {
		kv = append(kv, []string{"User", im.Config.User})
	}
	if len(im.Config.Entrypoint)+len(im.Config.Cmd) > 0 {
		kv = append(kv, []string{"Runs", strings.Join(append(append([]string{}, im.Config.Entrypoint...), im.Config.Cmd...), " ")})
	}
	kv = append(kv, []string{"OS", osLine(a.OS)})
	if t.err != nil {
		return
	}
	tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
	for _, r := range kv {
		fmt.Fprintf(tw, "%s:\t%s\n", r[0], r[1])
	}
	t.err = tw.Flush()
}

func osLine(o *extract.OSRelease) string {
	if o == nil {
		return "unknown (no /etc/os-release or /usr/lib/os-release)"
	}
	name := o.PrettyName
	if name == "" {
		name = strings.TrimSpace(o.Name + " " + o.VersionID)
	}
	s := fmt.Sprintf("%s (id %s", orDash(name), orDash(o.ID))
	if o.VersionID != "" {
		s += ", version " + o.VersionID
	}
	if len(o.IDLike) > 0 {
		s += ", like " + strings.Join(o.IDLike, " ")
	}
	return s + ")"
}

func (t *table) packages(ps []extract.Package) {
	counts := map[string]int{}
	for _, p := range ps {
		counts[p.Type]++
	}
	var parts []string
	for _, typ := range sortedKeys(counts) {
		parts = append(parts, fmt.Sprintf("%d %s", counts[typ], typ))
	}
	if len(ps) == 0 {
		t.printf("\nPackages: none found (no rpm, dpkg or apk database)\n")
		return
	}
	t.printf("\nPackages: %d (%s)\n", len(ps), strings.Join(parts, ", "))
	var rows [][]string
	for _, p := range ps {
		rows = append(rows, []string{p.Type, p.Name, p.FullVersion(), orDash(p.Arch), orDash(p.Source)})
	}
	t.rows([]string{"TYPE", "NAME", "VERSION", "ARCH", "SOURCE"}, t.limit(rows, "packages"))
}

func (t *table) python(py *extract.Python) {
	if py == nil {
		return
	}
	t.printf("\nPython interpreters: %d\n", len(py.Interpreters))
	if len(py.Interpreters) > 0 {
		var rows [][]string
		for _, in := range py.Interpreters {
			rows = append(rows, []string{in.Path, orDash(in.Version), orDash(in.Implementation), orDash(in.SOABI), orDash(strings.Join(in.Links, " "))})
		}
		t.rows([]string{"PATH", "VERSION", "IMPLEMENTATION", "SOABI", "LINKS"}, t.limit(rows, "interpreters"))
	}
	t.printf("\nPython environments: %d\n", len(py.Environments))
	if len(py.Environments) > 0 {
		var rows [][]string
		for _, e := range py.Environments {
			rows = append(rows, []string{e.Path, orDash(e.Interpreter), fmt.Sprint(len(e.Distributions))})
		}
		t.rows([]string{"PATH", "INTERPRETER", "DISTRIBUTIONS"}, t.limit(rows, "environments"))
	}
}

func (t *table) abi(a *extract.Analysis) {
	r := a.ABI
	if r == nil {
		return
	}
	t.printf("\nABI:\n")
	kv := [][]string{}
	if r.Libc != nil {
		kv = append(kv, []string{"libc", fmt.Sprintf("%s %s (%s)", r.Libc.Family, orDash(r.Libc.Version), orDash(r.Libc.Path))})
	} else {
		kv = append(kv, []string{"libc", "not found"})
	}
	newest := "-"
	for _, tag := range r.PlatformTags {
		if strings.HasPrefix(tag, "manylinux_") || strings.HasPrefix(tag, "musllinux_") {
			newest = tag
			break
		}
	}
	kv = append(kv, []string{"newest wheel tag", newest})
	kv = append(kv, []string{"platform tags", fmt.Sprint(len(r.PlatformTags))})
	kv = append(kv, []string{"shared libraries", fmt.Sprint(len(r.Libraries))})
	// The families wheels depend on, in full; the others only counted.
	var fams []string
	for _, f := range []string{"GLIBC", "GLIBCXX", "CXXABI"} {
		if defs := r.Symbols[f]; len(defs) > 0 {
			fams = append(fams, fmt.Sprintf("%s %d (newest %s)", f, len(defs), newestDef(defs)))
		}
	}
	if others := len(r.Symbols) - len(fams); others > 0 {
		fams = append(fams, fmt.Sprintf("%d other families", others))
	}
	if len(fams) > 0 {
		kv = append(kv, []string{"symbol versions", strings.Join(fams, ", ")})
	}
	t.pairs(kv)
}

// newestDef is the last numbered definition (GLIBC_PRIVATE is no version).
func newestDef(defs []string) string {
	for i := len(defs) - 1; i >= 0; i-- {
		if strings.ContainsAny(defs[i], "0123456789") {
			return defs[i]
		}
	}
	return defs[len(defs)-1]
}

// pairs writes aligned "key  value" lines without a header.
func (t *table) pairs(kv [][]string) {
	if t.err != nil {
		return
	}
	tw := tabwriter.NewWriter(t.w, 0, 0, 2, ' ', 0)
	for _, r := range kv {
		fmt.Fprintf(tw, "  %s\t%s\n", r[0], r[1])
	}
	t.err = tw.Flush()
}

func (t *table) cuda(c *extract.CUDA) {
	if c == nil {
		return
	}
	t.printf("\nCUDA: %s (from %s)", orDash(c.Version), orDash(c.Source))
	if c.CuDNNVersion != "" {
		t.printf("; cuDNN %s (from %s)", c.CuDNNVersion, orDash(c.CuDNNSource))
	}
	t.printf("\n")
}

func (t *table) warnings(ws []extract.Warning) {
	if len(ws) == 0 {
		return
	}
	t.printf("\nWarnings: %d\n", len(ws))
	for _, w := range ws {
		if w.Path != "" {
			t.printf("  %s: %s\n", w.Path, w.Message)
		} else {
			t.printf("  %s\n", w.Message)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
