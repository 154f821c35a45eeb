package extract

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	_ "modernc.org/sqlite" // the sqlite driver syft's rpm cataloger needs for rpmdb.sqlite

	"github.com/anchore/syft/syft"
	"github.com/anchore/syft/syft/artifact"
	"github.com/anchore/syft/syft/cataloging"
	"github.com/anchore/syft/syft/cataloging/filecataloging"
	"github.com/anchore/syft/syft/cataloging/pkgcataloging"
	"github.com/anchore/syft/syft/file"
	"github.com/anchore/syft/syft/linux"
	"github.com/anchore/syft/syft/pkg"
	"github.com/anchore/syft/syft/pkg/cataloger/alpine"
	"github.com/anchore/syft/syft/pkg/cataloger/debian"
	"github.com/anchore/syft/syft/pkg/cataloger/redhat"
	"github.com/anchore/syft/syft/sbom"
	"github.com/anchore/syft/syft/source"
)

// Package databases, at the paths their package managers use. Only these,
// at the image root: a status file deeper in the tree (a chroot, a test
// fixture) does not describe what is installed in the image.
var (
	rpmDBDirs  = []string{"/var/lib/rpm", "/usr/lib/sysimage/rpm", "/usr/share/rpm"}
	rpmDBNames = []string{"Packages", "Packages.db", "rpmdb.sqlite"}
)

const (
	dpkgStatus      = "/var/lib/dpkg/status"
	dpkgStatusDir   = "/var/lib/dpkg/status.d"
	apkInstalled    = "/lib/apk/db/installed"
	rpmManifest     = "/var/lib/rpmmanifest/container-manifest-2" // CBL-Mariner distroless
	maxCopyrightLen = 1 << 20
)

// PackagesExtractor fills Analysis.Packages with the rpm, deb and apk
// packages the image's package databases record, using syft's catalogers,
// and keeps syft's result for an SBOM (see SBOM).
type PackagesExtractor struct {
	full bool // WithSBOM

	mu   sync.Mutex
	sbom *sbom.SBOM
}

// PackagesOption configures NewPackagesExtractor.
type PackagesOption func(*PackagesExtractor)

// WithSBOM makes SBOM complete: syft's whole pipeline runs (CPEs,
// relationships, licenses from Debian's /usr/share/doc/*/copyright files,
// which are then kept). It costs syft's license scanner, about two seconds
// of CPU, so it is off unless an SBOM is asked for.
func WithSBOM() PackagesOption {
	return func(e *PackagesExtractor) { e.full = true }
}

// NewPackagesExtractor returns the rpm/dpkg/apk extractor.
func NewPackagesExtractor(opts ...PackagesOption) *PackagesExtractor {
	e := &PackagesExtractor{}
	for _, o := range opts {
		o(e)
	}
	return e
}

// Name implements Extractor.
func (*PackagesExtractor) Name() string { return "packages" }

// Wants implements Extractor: the package databases, the os-release files
// (syft names the distribution in package URLs), and with licenses on,
// Debian's copyright files.
func (e *PackagesExtractor) Wants(p string, size int64) bool {
	if isPackageDB(p) || isOSReleasePath(p) && size <= maxOSReleaseSize {
		return true
	}
	return e.full && size <= maxCopyrightLen && strings.HasPrefix(p, "/usr/share/doc/") &&
		strings.HasSuffix(p, "/copyright") && strings.Count(p, "/") == 5
}

func isPackageDB(p string) bool {
	switch p {
	case dpkgStatus, apkInstalled, rpmManifest:
		return true
	}
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if dir == dpkgStatusDir {
		return true
	}
	for _, d := range rpmDBDirs {
		if d == dir {
			for _, n := range rpmDBNames {
				if n == base {
					return true
				}
			}
		}
	}
	return false
}

// Extract implements Extractor.
func (e *PackagesExtractor) Extract(ctx context.Context, ix *FileIndex, a *Analysis) error {
	if a.Packages == nil {
		a.Packages = []Package{}
	}
	found, rpm := false, false
	for p := range ix.contents {
		if isPackageDB(p) {
			found = true
			rpm = rpm || path.Base(path.Dir(p)) == "rpm" || p == rpmManifest
		}
	}
	a.Warnings = append(a.Warnings, unreadPackageDBs(ix)...)
	if !found {
		return nil
	}
	var s *sbom.SBOM
	var err error
	if e.full || rpm {
		s, err = catalogPackages(ctx, ix)
	} else {
		s, err = catalogPackagesDirect(ctx, ix)
	}
	if err != nil {
		return fmt.Errorf("reading package databases: %w", err)
	}
	e.mu.Lock()
	e.sbom = s
	e.mu.Unlock()
	pkgs, warns := packagesFromSyft(s.Artifacts.Packages)
	a.Packages = append(a.Packages, pkgs...)
	a.Warnings = append(a.Warnings, warns...)
	SortPackages(a.Packages)
	return nil
}

// unreadPackageDBs warns about package databases that exist in the image but
// whose bytes were not kept (too large for the walk's limits).
func unreadPackageDBs(ix *FileIndex) []Warning {
	var out []Warning
	check := func(p string) {
		m, ok := ix.Lookup(p)
		if !ok || m.Type != TypeRegular {
			return
		}
		if _, err := ix.ReadFile(p); errors.Is(err, ErrNotKept) {
			out = append(out, Warning{Path: p, Message: fmt.Sprintf("package database of %d bytes not read (over the size limit for kept files); its packages are missing", m.Size)})
		}
	}
	check(dpkgStatus)
	check(apkInstalled)
	for _, d := range rpmDBDirs {
		for _, n := range rpmDBNames {
			check(d + "/" + n)
		}
	}
	return out
}

// SBOM returns syft's view of the packages found by the last Extract: the
// document --sbom encodes. It is never nil; with no package database it
// holds no packages. Without WithSBOM, deb and apk packages lack CPEs and
// licenses read from copyright files.
func (e *PackagesExtractor) SBOM() *sbom.SBOM {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.sbom == nil {
		return &sbom.SBOM{Artifacts: sbom.Artifacts{Packages: pkg.NewCollection()}}
	}
	return e.sbom
}

// catalogPackages runs syft's rpm, dpkg and apk database catalogers over the
// index. syft.CreateSBOM is the only public way to run them: the rpm
// cataloger needs the temporary directory it sets up.
func catalogPackages(ctx context.Context, ix *FileIndex) (*sbom.SBOM, error) {
	refs := []pkgcataloging.CatalogerReference{
		{Cataloger: redhat.NewDBCataloger(), Tags: []string{pkgcataloging.ImageTag, "rpm"}},
		{Cataloger: debian.NewDBCataloger(), Tags: []string{pkgcataloging.ImageTag, "deb"}},
		{Cataloger: alpine.NewDBCataloger(), Tags: []string{pkgcataloging.ImageTag, "apk"}},
	}
	cfg := syft.DefaultCreateSBOMConfig().
		WithTool("seshat", "").
		WithoutFiles().
		WithoutCatalogers().
		WithCatalogers(refs...).
		WithCatalogerSelection(cataloging.NewSelectionRequest().WithRemovals(filecataloging.FileTag)).
		WithArchiveConfig(cataloging.ArchiveSearchConfig{}).
		WithUnknownsConfig(cataloging.UnknownsConfig{}).
		WithParallelism(1)
	scanCtx, err := licenseScannerContext()
	if err != nil {
		return nil, err
	}
	return syft.CreateSBOM(valuesFrom{Context: ctx, values: scanCtx}, &indexSource{ix: ix}, cfg)
}

// syft builds a license scanner (licensecheck's matcher, about a second
// of CPU) in every CreateSBOM unless the context already carries one; the
// key is internal to syft, so the context that carries it is built once and
// its values lent to each call.
var licenseScannerContext = sync.OnceValues(func() (context.Context, error) {
	ctx, err := syft.SetContextLicenseScanner(context.Background(), cataloging.DefaultLicenseConfig())
	if err != nil {
		return nil, fmt.Errorf("preparing syft's license scanner: %w", err)
	}
	return ctx, nil
})

// valuesFrom is Context (deadline, cancellation, values) with values as a
// fallback for keys Context does not have.
type valuesFrom struct {
	context.Context
	values context.Context
}

func (v valuesFrom) Value(key any) any {
	if x := v.Context.Value(key); x != nil {
		return x
	}
	return v.values.Value(key)
}

// catalogPackagesDirect runs syft's dpkg and apk catalogers themselves,
// without CreateSBOM: they need neither its temporary directory nor its
// license scanner, whose construction would cost more than the rest of the
// analysis of a small image.
func catalogPackagesDirect(ctx context.Context, ix *FileIndex) (*sbom.SBOM, error) {
	r := newSyftResolver(ix)
	s := &sbom.SBOM{Artifacts: sbom.Artifacts{Packages: pkg.NewCollection(), LinuxDistribution: linux.IdentifyRelease(r)}}
	for _, c := range []pkg.Cataloger{debian.NewDBCataloger(), alpine.NewDBCataloger()} {
		pkgs, rels, err := c.Catalog(ctx, r)
		if err != nil && len(pkgs) == 0 {
			return nil, fmt.Errorf("%s: %w", c.Name(), err)
		}
		for i := range pkgs {
			pkgs[i].SetID()
		}
		s.Artifacts.Packages.Add(pkgs...)
		s.Relationships = append(s.Relationships, rels...)
	}
	return s, nil
}

// indexSource is a syft source.Source over a FileIndex. Its description is
// a placeholder; the SBOM writer fills in the image's own.
type indexSource struct{ ix *FileIndex }

func (s *indexSource) ID() artifact.ID { return "seshat-file-index" }
func (s *indexSource) FileResolver(source.Scope) (file.Resolver, error) {
	return newSyftResolver(s.ix), nil
}
func (s *indexSource) Describe() source.Description {
	return source.Description{ID: string(s.ID()), Metadata: source.ImageMetadata{}}
}
func (s *indexSource) Close() error { return nil }

// packagesFromSyft maps syft's packages to the Analysis form, from the
// metadata structs of each database (not from re-parsed version strings
// where the struct has the fields).
func packagesFromSyft(c *pkg.Collection) ([]Package, []Warning) {
	var out []Package
	var warns []Warning
	for p := range c.Enumerate() {
		switch m := p.Metadata.(type) {
		case pkg.RpmDBEntry:
			out = append(out, Package{Type: "rpm", Name: m.Name, Version: m.Version, Release: m.Release,
				Epoch: copyInt(m.Epoch), Arch: m.Arch, Source: m.SourceRpm})
		case pkg.DpkgDBEntry:
			epoch, upstream, revision, err := SplitDebianVersion(m.Version)
			if err != nil {
				warns = append(warns, Warning{Path: locationOf(p), Message: fmt.Sprintf("deb %s: %v; version kept whole", m.Package, err)})
				upstream, revision, epoch = m.Version, "", nil
			}
			src := m.Source
			if src == "" {
				src = m.Package // Debian policy: no Source field means the source is named as the binary
			}
			out = append(out, Package{Type: "deb", Name: m.Package, Version: upstream, Release: revision,
				Epoch: epoch, Arch: m.Architecture, Source: src})
		case pkg.ApkDBEntry:
			upstream, rel := SplitApkVersion(m.Version)
			out = append(out, Package{Type: "apk", Name: m.Package, Version: upstream, Release: rel,
				Arch: m.Architecture, Source: m.OriginPackage})
		}
	}
	return out, warns
}

func locationOf(p pkg.Package) string {
	for _, l := range p.Locations.ToSlice() {
		return l.RealPath
	}
	return ""
}

func copyInt(p *int) *int {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}

// SplitDebianVersion splits a Debian version "[epoch:]upstream[-revision]"
// (deb-version(7)): the epoch is a number before the first colon, the
// revision follows the last hyphen.
func SplitDebianVersion(v string) (epoch *int, upstream, revision string, err error) {
	upstream = v
	if e, rest, ok := strings.Cut(v, ":"); ok {
		n, perr := strconv.Atoi(e)
		if perr != nil || n < 0 {
			return nil, "", "", fmt.Errorf("version %q: epoch %q is not a number", v, e)
		}
		epoch, upstream = &n, rest
	}
	if i := strings.LastIndexByte(upstream, '-'); i >= 0 {
		upstream, revision = upstream[:i], upstream[i+1:]
	}
	if upstream == "" || upstream[0] < '0' || upstream[0] > '9' {
		return nil, "", "", fmt.Errorf("version %q: upstream version must start with a digit", v)
	}
	return epoch, upstream, revision, nil
}

// SplitApkVersion splits an apk version "upstream-rN" into the upstream
// version and the package release "rN"; without a release suffix the whole
// string is the upstream version.
func SplitApkVersion(v string) (upstream, release string) {
	i := strings.LastIndex(v, "-r")
	if i < 0 || i+2 == len(v) {
		return v, ""
	}
	for _, c := range v[i+2:] {
		if c < '0' || c > '9' {
			return v, ""
		}
	}
	return v[:i], v[i+1:]
}

// FullVersion is the package manager's own spelling of p's version:
// deb "[epoch:]version[-release]", rpm "[epoch:]version-release", apk
// "version-release".
func (p Package) FullVersion() string {
	var b strings.Builder
	if p.Epoch != nil {
		fmt.Fprintf(&b, "%d:", *p.Epoch)
	}
	b.WriteString(p.Version)
	if p.Release != "" {
		b.WriteString("-")
		b.WriteString(p.Release)
	}
	return b.String()
}

// SortPackages orders packages by type, name, version, then release and
// arch, so output is stable whatever order the databases list them in.
func SortPackages(ps []Package) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		if a.Release != b.Release {
			return a.Release < b.Release
		}
		return a.Arch < b.Arch
	})
}
