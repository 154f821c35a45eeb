package prescription

import (
	"regexp"
	"strings"
	"sync"

	"github.com/seshat-dev/seshat/advise/pep508"
)

// Context is the runtime environment a resolution runs for: what
// should_include is evaluated against. The resolver fills it from the image
// Analysis and the command line; empty fields mean "unknown" and, as in
// Thoth, a unit that needs an unknown value is not included.
type Context struct {
	// Pipeline is "adviser" (the default) or "dependency_monkey".
	Pipeline string
	// RecommendationType is latest, stable, performance, security or
	// testing; empty does not filter.
	RecommendationType string
	DecisionType       string
	Labels             map[string]string
	Authenticated      bool
	// LibraryUsage maps a library to the symbols the application uses.
	LibraryUsage map[string][]string

	OS              OS
	PythonVersion   string // "3.11"
	CUDAVersion     string // "12.1"; empty without CUDA
	CUDNNVersion    string
	OpenBLASVersion string
	OpenMPIVersion  string
	MKLVersion      string
	Platform        string // e.g. linux-x86_64
	BaseImage       string // e.g. quay.io/thoth-station/s2i-thoth-ubi8-py38:v0.29.0
	Hardware        HardwareInfo
	// ABI lists the symbol versions libraries in the image provide
	// (GLIBC_2.28, GLIBCXX_3.4.25, …).
	ABI            []string
	RPMPackages    []RPM
	PythonPackages []InstalledPackage
}

// HardwareInfo is the CPU and GPU; nil and empty are unknown.
type HardwareInfo struct {
	CPUFamily, CPUModel *int
	CPUFlags            []string
	GPUModel            string
}

// InstalledPackage is a Python distribution present in the image.
type InstalledPackage struct {
	Name, Version string
	// Location is the site directory it is installed in, matched by
	// python_packages[].location (a regular expression).
	Location string
}

func (c *Context) adviser() bool { return c.Pipeline == "" || c.Pipeline == "adviser" }

// regexps caches compiled python_packages locations across units.
var regexps sync.Map

func fullMatch(expr, s string) bool {
	re, ok := regexps.Load(expr)
	if !ok {
		r, err := regexp.Compile(`^(?:` + expr + `)$`)
		if err != nil {
			return false // Validate reported it
		}
		re, _ = regexps.LoadOrStore(expr, r)
	}
	return re.(*regexp.Regexp).MatchString(s)
}

// includes evaluates should_include except dependencies.
func (inc *Include) includes(ctx *Context) bool {
	if inc.Never {
		return false
	}
	if ctx.adviser() {
		if !inc.AdviserPipeline {
			return false
		}
		if inc.RecommendationTypes != nil && ctx.RecommendationType != "" && !inc.RecommendationTypes.Contains(strings.ToLower(ctx.RecommendationType)) {
			return false
		}
	} else {
		if !inc.DependencyMonkeyPipeline {
			return false
		}
		if inc.DecisionTypes != nil && ctx.DecisionType != "" && !inc.DecisionTypes.Contains(strings.ToLower(ctx.DecisionType)) {
			return false
		}
	}
	if inc.Authenticated != nil && *inc.Authenticated != ctx.Authenticated {
		return false
	}
	if len(inc.Labels) > 0 {
		any := false
		for k, v := range inc.Labels {
			if ctx.Labels[k] == v {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	if len(inc.LibraryUsage) > 0 && !libraryUsed(inc.LibraryUsage, ctx.LibraryUsage) {
		return false
	}
	return inc.Runtime.matches(ctx)
}

// libraryUsed: every expected symbol ("lib.fn" or "lib.*") is used.
func libraryUsed(expected, used map[string][]string) bool {
	for lib, symbols := range expected {
		have := used[lib]
		if len(have) == 0 {
			return false
		}
		for _, want := range symbols {
			found := false
			for _, h := range have {
				if p, ok := strings.CutSuffix(want, ".*"); ok && strings.HasPrefix(h, p) || h == want {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

func versionOK(present string, spec *Spec) bool {
	if spec == nil {
		return true
	}
	if present == "" {
		return false
	}
	return spec.Contains(present, false)
}

func (re *RuntimeEnvironments) matches(ctx *Context) bool {
	if re == nil {
		return true
	}
	if len(re.OperatingSystems) > 0 {
		hit := false
		for _, os := range re.OperatingSystems {
			if (os.Name == "" || os.Name == ctx.OS.Name) && (os.Version == "" || os.Version == ctx.OS.Version) {
				hit = true
				break
			}
		}
		if hit == re.OperatingSystemsNot {
			return false
		}
	}
	for _, hw := range re.Hardware {
		if hw.CPUFamilies != nil && !hw.CPUFamilies.contains(ctx.Hardware.CPUFamily) ||
			hw.CPUModels != nil && !hw.CPUModels.contains(ctx.Hardware.CPUModel) ||
			hw.GPUModels != nil && !hw.GPUModels.Contains(ctx.Hardware.GPUModel) {
			return false
		}
		if hw.CPUFlags != nil {
			if ctx.Hardware.CPUFlags == nil {
				return false
			}
			for _, f := range hw.CPUFlags.Values {
				if containsString(ctx.Hardware.CPUFlags, f) == hw.CPUFlags.Not {
					return false
				}
			}
		}
	}
	if !versionOK(ctx.PythonVersion, re.PythonVersion) || !versionOK(ctx.CUDAVersion, re.CUDAVersion) ||
		!versionOK(ctx.CUDNNVersion, re.CUDNNVersion) || !versionOK(ctx.OpenBLASVersion, re.OpenBLASVersion) ||
		!versionOK(ctx.OpenMPIVersion, re.OpenMPIVersion) || !versionOK(ctx.MKLVersion, re.MKLVersion) {
		return false
	}
	if re.Platforms != nil && !re.Platforms.Contains(ctx.Platform) {
		return false
	}
	if re.BaseImages != nil && !baseImageIn(re.BaseImages, ctx.BaseImage) {
		return false
	}
	if re.ABI != nil {
		if len(ctx.ABI) == 0 {
			return false
		}
		for _, s := range re.ABI.Values {
			// Plain list: all must be present; `not:`: none may be.
			if containsString(ctx.ABI, s) == re.ABI.Not {
				return false
			}
		}
	}
	if len(re.RPMPackages) > 0 && !rpmsMatch(re.RPMPackages, re.RPMPackagesNot, ctx.RPMPackages) {
		return false
	}
	if len(re.PythonPackages) > 0 && !pythonPackagesMatch(re.PythonPackages, re.PythonPackagesNot, ctx.PythonPackages) {
		return false
	}
	return true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (l *IntList) contains(v *int) bool {
	in := false
	if v == nil {
		in = l.Null
	} else {
		for _, x := range l.Values {
			if x == *v {
				in = true
				break
			}
		}
	}
	return in != l.Not
}

// baseImageIn follows Thoth: entries are image[:tag], a tag may end in "*",
// an entry without a tag matches every tag, null matches "no base image".
func baseImageIn(l *ValueList, image string) bool {
	if image == "" {
		return l.Null != l.Not
	}
	name, tag, hasTag := cutLast(image, ":")
	for _, e := range l.Values {
		en, et, eHasTag := cutLast(e, ":")
		if en != name {
			continue
		}
		if !eHasTag || !hasTag {
			return !l.Not
		}
		if p, ok := strings.CutSuffix(et, "*"); ok && strings.HasPrefix(tag, p) || et == tag {
			return !l.Not
		}
	}
	return l.Not
}

// cutLast splits at the last sep, ignoring a ":" inside a registry host:port.
func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 || strings.Contains(s[i:], "/") {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// rpmsMatch: a plain list needs every RPM present with the fields given;
// under `not:` the unit is excluded only when all of them are present so.
// An image without an RPM database tells nothing, so nothing matches.
func rpmsMatch(want []RPM, not bool, have []RPM) bool {
	if len(have) == 0 {
		return false
	}
	byName := make(map[string]*RPM, len(have))
	for i := range have {
		byName[have[i].Name] = &have[i]
	}
	for _, w := range want {
		h := byName[w.Name]
		present := h != nil && rpmFieldsMatch(w, *h)
		if not && !present {
			return true
		}
		if !not && !present {
			return false
		}
	}
	return !not
}

func rpmFieldsMatch(w, h RPM) bool {
	eq := func(a, b string) bool { return a == "" || a == b }
	return eq(w.Arch, h.Arch) && eq(w.Epoch, h.Epoch) && eq(w.Identifier, h.Identifier) &&
		eq(w.Version, h.Version) && eq(w.Release, h.Release) && (w.Src == nil || h.Src != nil && *w.Src == *h.Src)
}

func pythonPackagesMatch(want []PythonPackage, not bool, have []InstalledPackage) bool {
	if len(have) == 0 {
		return false
	}
	present := func(w PythonPackage) bool {
		for _, h := range have {
			if pep508.CanonicalName(h.Name) != w.Name {
				continue
			}
			if w.Version != nil && !w.Version.Contains(h.Version, true) {
				continue
			}
			if w.Location != "" && !fullMatch(w.Location, h.Location) {
				continue
			}
			return true
		}
		return false
	}
	for _, w := range want {
		if present(w) == not {
			return false
		}
	}
	return true
}
