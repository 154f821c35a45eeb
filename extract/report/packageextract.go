package report

import (
	"io"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/seshat-dev/seshat/extract"
)

// PackageExtractDoc is an analysis in the shape of the documents Thoth's
// package-extract wrote: its analyzer metadata, and under "result" the
// keys its consumers read. seshat fills them from what it read statically,
// so the values are the same facts, not the output of the same commands.
type PackageExtractDoc struct {
	Metadata PackageExtractMetadata `json:"metadata"`
	Result   PackageExtractResult   `json:"result"`
}

// PackageExtractMetadata names the analyzer, as thoth-analyzer did.
type PackageExtractMetadata struct {
	Analyzer        string         `json:"analyzer"`
	AnalyzerVersion string         `json:"analyzer_version"`
	Arguments       map[string]any `json:"arguments"`
	Datetime        string         `json:"datetime,omitempty"`
}

// PackageExtractResult holds package-extract's keys.
type PackageExtractResult struct {
	OperatingSystem    map[string]string   `json:"operating-system"`
	RPM                []string            `json:"rpm"`
	Deb                []PEDeb             `json:"deb"`
	SkopeoInspect      PESkopeoInspect     `json:"skopeo-inspect"`
	Layers             []string            `json:"layers"`
	ImageSize          int64               `json:"image_size"`
	PythonInterpreters []PEInterpreter     `json:"python-interpreters"`
	PythonPackages     []PEPythonPackage   `json:"python-packages"`
	SystemSymbols      map[string][]string `json:"system-symbols"`
	CUDAVersion        map[string]string   `json:"cuda-version"`
}

// PEDeb is one line of `dpkg-query -l`: the version as dpkg spells it.
type PEDeb struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"`
}

// PESkopeoInspect has the fields of `skopeo inspect` package-extract kept.
type PESkopeoInspect struct {
	Name         string            `json:"Name"`
	Digest       string            `json:"Digest"`
	RepoTags     []string          `json:"RepoTags"`
	Created      *time.Time        `json:"Created"`
	Labels       map[string]string `json:"Labels"`
	Architecture string            `json:"Architecture"`
	Variant      string            `json:"Variant,omitempty"`
	Os           string            `json:"Os"`
	Layers       []string          `json:"Layers"`
	Env          []string          `json:"Env"`
}

// PEInterpreter is one Python executable: its path, where it resolves to,
// and the version as `python --version` prints it (null when unknown).
type PEInterpreter struct {
	Path    string  `json:"path"`
	Link    string  `json:"link"`
	Version *string `json:"version"`
}

// PEPythonPackage is one installed distribution and its site-packages.
type PEPythonPackage struct {
	PackageName    string `json:"package_name"`
	PackageVersion string `json:"package_version"`
	Location       string `json:"location"`
}

// ToPackageExtract converts a to package-extract's document.
func ToPackageExtract(a *extract.Analysis, opts ...Option) *PackageExtractDoc {
	o := newOptions(opts)
	r := PackageExtractResult{
		OperatingSystem:    map[string]string{},
		RPM:                []string{},
		Deb:                []PEDeb{},
		Layers:             []string{},
		ImageSize:          a.Image.Size,
		PythonInterpreters: []PEInterpreter{},
		PythonPackages:     []PEPythonPackage{},
		SystemSymbols:      map[string][]string{},
		CUDAVersion:        map[string]string{},
	}
	if os := a.OS; os != nil {
		for k, v := range map[string]string{"id": os.ID, "name": os.Name, "version_id": os.VersionID,
			"pretty_name": os.PrettyName, "id_like": strings.Join(os.IDLike, " ")} {
			if v != "" {
				r.OperatingSystem[k] = v
			}
		}
	}
	for _, p := range a.Packages {
		switch p.Type {
		case "rpm":
			r.RPM = append(r.RPM, NEVRA(p))
		case "deb":
			r.Deb = append(r.Deb, PEDeb{Name: p.Name, Version: p.FullVersion(), Arch: p.Arch})
		}
	}
	r.SkopeoInspect = PESkopeoInspect{
		Name:         repoName(a.Image.Reference),
		Digest:       a.Image.Digest,
		RepoTags:     []string{},
		Created:      a.Image.Created,
		Labels:       a.Image.Config.Labels,
		Architecture: a.Image.Platform.Architecture,
		Variant:      a.Image.Platform.Variant,
		Os:           a.Image.Platform.OS,
		Layers:       []string{},
		Env:          a.Image.Config.Env,
	}
	for _, l := range a.Image.Layers {
		r.SkopeoInspect.Layers = append(r.SkopeoInspect.Layers, l.Digest)
		// package-extract listed layers by the hex of their digest.
		_, hex, _ := strings.Cut(l.Digest, ":")
		r.Layers = append(r.Layers, hex)
	}
	if py := a.Python; py != nil {
		for _, in := range py.Interpreters {
			var v *string
			if in.Version != "" {
				s := "Python " + in.Version
				v = &s
			}
			r.PythonInterpreters = append(r.PythonInterpreters, PEInterpreter{Path: in.Path, Link: in.Path, Version: v})
			for _, l := range in.Links {
				r.PythonInterpreters = append(r.PythonInterpreters, PEInterpreter{Path: l, Link: in.Path, Version: v})
			}
		}
		sort.SliceStable(r.PythonInterpreters, func(i, j int) bool {
			return r.PythonInterpreters[i].Path < r.PythonInterpreters[j].Path
		})
		for _, e := range py.Environments {
			for _, d := range e.Distributions {
				r.PythonPackages = append(r.PythonPackages, PEPythonPackage{PackageName: d.Name, PackageVersion: d.Version, Location: e.Path})
			}
		}
	}
	if a.ABI != nil {
		for _, l := range a.ABI.Libraries {
			if len(l.VersionDefinitions) > 0 {
				r.SystemSymbols[l.Path] = l.VersionDefinitions
			}
		}
	}
	if c := a.CUDA; c != nil && c.Version != "" {
		r.CUDAVersion[c.Source] = c.Version
	}
	return &PackageExtractDoc{
		Metadata: PackageExtractMetadata{
			Analyzer:        o.tool,
			AnalyzerVersion: o.version,
			Arguments:       map[string]any{"image": a.Image.Reference},
		},
		Result: r,
	}
}

// PackageExtract writes a as package-extract's document, indented.
func PackageExtract(w io.Writer, a *extract.Analysis, opts ...Option) error {
	return writeJSON(w, ToPackageExtract(a, opts...))
}

// NEVRA spells an rpm as `rpm -qa` names it with the epoch shown when the
// package has one: name-[epoch:]version-release.arch.
func NEVRA(p extract.Package) string {
	s := p.Name + "-" + p.FullVersion()
	if p.Arch != "" {
		s += "." + p.Arch
	}
	return s
}

// repoName is skopeo's Name: the repository of a registry reference without
// tag or digest; other references (oci:, docker-archive:, dir:) as written.
func repoName(ref string) string {
	if strings.Contains(ref, ":") && (strings.HasPrefix(ref, "oci:") || strings.HasPrefix(ref, "docker-archive:") || strings.HasPrefix(ref, "dir:")) {
		return ref
	}
	r, err := name.ParseReference(strings.TrimPrefix(ref, "docker://"))
	if err != nil {
		return ref
	}
	return r.Context().Name()
}
