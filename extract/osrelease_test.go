package extract_test

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/seshat-dev/seshat/extract"
	"github.com/seshat-dev/seshat/internal/fixtures"
)

// pkRunOS indexes the root filesystem at dir (a real directory) with the OS
// extractor alone and returns what it found.
func pkRunOS(t *testing.T, dir string) *extract.Analysis {
	t.Helper()
	ex := extract.NewOSExtractor()
	ix, warns, err := extract.WalkDir(context.Background(), dir, []extract.Extractor{ex}, extract.WalkOptions{})
	if err != nil {
		t.Fatalf("indexing %s: %v", dir, err)
	}
	a := &extract.Analysis{Warnings: warns}
	if err := ex.Extract(context.Background(), ix, a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestOSReleaseSyftDistros reads syft's real os-release files of 22
// distributions. The expectations were written from reading each file.
func TestOSReleaseSyftDistros(t *testing.T) {
	root := fixtures.Path(t, "os-release")
	osr := func(id, versionID, name, pretty string, like ...string) *extract.OSRelease {
		if like == nil {
			like = []string{}
		}
		return &extract.OSRelease{ID: id, VersionID: versionID, Name: name, PrettyName: pretty, IDLike: like}
	}
	tests := []struct {
		dir  string
		want *extract.OSRelease // nil: no os-release, OS unknown
		warn bool               // a warning names the os-release file
	}{
		{"almalinux/from-os-release", osr("almalinux", "8.4", "AlmaLinux", "AlmaLinux 8.4 (Electric Cheetah)", "rhel", "centos", "fedora"), false},
		{"almalinux/from-redhat-release", nil, false},
		{"alpine", osr("alpine", "3.11.6", "Alpine Linux", "Alpine Linux v3.11"), false},
		{"amazon", osr("amzn", "2", "Amazon Linux", "Amazon Linux 2", "centos", "rhel", "fedora"), false},
		{"arch", osr("arch", "", "Arch Linux", "Arch Linux"), false},
		{"busybox", nil, false},
		{"centos", osr("centos", "8", "CentOS Linux", "CentOS Linux 8 (Core)", "rhel", "fedora"), false}, // only /usr/lib/os-release
		{"centos5", nil, false},
		{"centos6", nil, false},
		{"custom", osr("scientific", "8", "Scientific Linux", "CentOS Linux 8 (Core)", "rhel", "fedora"), false},
		{"debian/from-debian_version", osr("debian", "", "Debian GNU/Linux", "Distroless"), false},
		{"debian/from-os-release", osr("debian", "8", "Debian GNU/Linux", "Debian GNU/Linux 8 (jessie)"), false},
		{"debian/with-point-release", osr("debian", "13", "Debian GNU/Linux", "Debian GNU/Linux 13 (trixie)"), false},
		{"empty", nil, true},
		{"fedora", osr("fedora", "36", "Fedora Linux", "Fedora Linux 36 (Container Image)"), false},
		{"mariner", osr("mariner", "1.0", "Common Base Linux Mariner", "CBL-Mariner/Linux"), false},
		{"opensuse-leap", osr("opensuse-leap", "15.2", "openSUSE Leap", "openSUSE Leap 15.2", "suse", "opensuse"), false},
		{"oraclelinux", osr("ol", "8.3", "Oracle Linux Server", "Oracle Linux Server 8.3", "fedora"), false},
		{"photon", osr("photon", "2.0", "VMware Photon OS", "VMware Photon OS/Linux"), false},
		{"redhat/from-os-release", osr("rhel", "7.3", "Red Hat Enterprise Linux Server", "Red Hat Enterprise Linux Server 7.3 (Maipo)", "fedora"), false},
		{"redhat/from-redhat-release", nil, false},
		{"rockylinux/from-os-release", osr("rocky", "8.4", "Rocky Linux", "Rocky Linux 8.4 (Green Obsidian)", "rhel", "fedora"), false},
		{"rockylinux/from-redhat-release", nil, false},
		{"scientific/from-os-release", osr("scientific", "7.5", "Scientific Linux", "Scientific Linux 7.5 (Nitrogen)", "rhel", "centos", "fedora"), false},
		{"scientific/from-redhat-release", nil, false},
		{"sles", osr("sles", "15.2", "SLES", "SUSE Linux Enterprise Server 15 SP2", "suse"), false},
		{"ubuntu", osr("ubuntu", "20.04", "Ubuntu", "Ubuntu 20.04 LTS", "debian"), false},
		{"wolfi", osr("wolfi", "20220914", "Wolfi", "Wolfi"), false},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			a := pkRunOS(t, filepath.Join(root, tt.dir))
			if !reflect.DeepEqual(a.OS, tt.want) {
				t.Errorf("os = %+v, want %+v", a.OS, tt.want)
			}
			warned := false
			for _, w := range a.Warnings {
				if w.Path == "/etc/os-release" {
					warned = true
				}
			}
			if warned != tt.warn {
				t.Errorf("warnings %+v, want a warning about /etc/os-release: %v", a.Warnings, tt.warn)
			}
		})
	}
}

// TestOSReleaseDebianSymlink: Debian ships /etc/os-release as a relative
// symlink to ../usr/lib/os-release; the extractor must follow it inside the
// image, and prefer /etc over /usr/lib.
func TestOSReleaseDebianSymlink(t *testing.T) {
	data := []byte("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n")
	other := []byte("ID=other\nNAME=Other\n")
	tests := []struct {
		name  string
		files []extract.FileMeta
		bytes map[string][]byte
		want  string
	}{
		{"relative link", []extract.FileMeta{
			{Path: "/etc/os-release", Type: extract.TypeSymlink, Linkname: "../usr/lib/os-release"},
			{Path: "/usr/lib/os-release", Type: extract.TypeRegular, Size: int64(len(data))},
		}, map[string][]byte{"/usr/lib/os-release": data}, "debian"},
		{"absolute link stays in the image", []extract.FileMeta{
			{Path: "/etc/os-release", Type: extract.TypeSymlink, Linkname: "/usr/lib/os-release"},
			{Path: "/usr/lib/os-release", Type: extract.TypeRegular, Size: int64(len(data))},
		}, map[string][]byte{"/usr/lib/os-release": data}, "debian"},
		{"etc wins over usr/lib", []extract.FileMeta{
			{Path: "/etc/os-release", Type: extract.TypeRegular, Size: int64(len(other))},
			{Path: "/usr/lib/os-release", Type: extract.TypeRegular, Size: int64(len(data))},
		}, map[string][]byte{"/etc/os-release": other, "/usr/lib/os-release": data}, "other"},
		{"dangling link falls back", []extract.FileMeta{
			{Path: "/etc/os-release", Type: extract.TypeSymlink, Linkname: "nowhere"},
			{Path: "/usr/lib/os-release", Type: extract.TypeRegular, Size: int64(len(data))},
		}, map[string][]byte{"/usr/lib/os-release": data}, "debian"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := extract.NewFileIndex()
			for _, m := range tt.files {
				ix.Add(m, tt.bytes[m.Path])
			}
			a := &extract.Analysis{}
			if err := extract.NewOSExtractor().Extract(context.Background(), ix, a); err != nil {
				t.Fatal(err)
			}
			if a.OS == nil || a.OS.ID != tt.want {
				t.Fatalf("os = %+v, want id %q", a.OS, tt.want)
			}
		})
	}
}

// TestParseOSReleaseQuoting covers the shell quoting os-release(5) allows.
func TestParseOSReleaseQuoting(t *testing.T) {
	tests := []struct {
		in   string
		key  string
		want string
		ok   bool
	}{
		{`NAME="Fedora Linux"`, "NAME", "Fedora Linux", true},
		{`NAME='single quoted'`, "NAME", "single quoted", true},
		{`NAME=bare`, "NAME", "bare", true},
		{`NAME="with \"escaped\" quotes and \\ and \$HOME"`, "NAME", `with "escaped" quotes and \ and $HOME`, true},
		{`NAME="mixed"'parts'plain`, "NAME", "mixedpartsplain", true},
		{`NAME=bare # a comment`, "NAME", "bare", true},
		{"NAME=\"crlf\"\r", "NAME", "crlf", true},
		{`  ID=indented`, "ID", "indented", true},
		{`# ID=commented`, "ID", "", false},
		{`NAME="unterminated`, "NAME", "", false},
		{`export NAME=x`, "NAME", "", false},
		{`NAME=`, "NAME", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := extract.ParseOSReleaseFields([]byte(tt.in))[tt.key]
			if ok != tt.ok || got != tt.want {
				t.Errorf("%s = %q (present %v), want %q (present %v)", tt.key, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzParseOSRelease: any bytes parse without panic, and every value the
// parser returns came from a KEY=VALUE line of the input.
func FuzzParseOSRelease(f *testing.F) {
	f.Add([]byte("NAME=\"Fedora Linux\"\nID=fedora\nVERSION_ID=36\n"))
	f.Add([]byte("ID_LIKE='rhel fedora'\n# comment\nPRETTY_NAME=\"a \\\"b\\\" \\\\ c\"\r\n"))
	f.Add([]byte("NAME=\"unterminated\nID=x y # z\n=novalue\n\x00\xff"))
	f.Fuzz(func(t *testing.T, data []byte) {
		kv := extract.ParseOSReleaseFields(data)
		for k := range kv {
			if !strings.Contains(string(data), k+"=") {
				t.Errorf("key %q not in the input", k)
			}
		}
		if o := extract.ParseOSRelease(data); o != nil && o.IDLike == nil {
			t.Error("idLike is nil, want []")
		}
	})
}
