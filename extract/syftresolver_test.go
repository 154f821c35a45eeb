package extract

import (
	"context"
	"io"
	"testing"

	"github.com/anchore/syft/syft/pkg"
)

// TestSyftResolver checks the file.Resolver syft's catalogers see: their own
// glob constants find the kept databases, paths resolve through symlinks
// inside the image, and only kept files have contents.
func TestSyftResolver(t *testing.T) {
	ix := NewFileIndex()
	ix.Add(FileMeta{Path: "/usr/lib/sysimage/rpm/Packages.db", Type: TypeRegular, Size: 3}, []byte("ndb"))
	ix.Add(FileMeta{Path: "/var/lib/rpm", Type: TypeSymlink, Linkname: "../../usr/lib/sysimage/rpm"}, nil)
	ix.Add(FileMeta{Path: "/lib/apk/db/installed", Type: TypeRegular, Size: 4}, []byte("P:x\n"))
	ix.Add(FileMeta{Path: "/var/lib/dpkg/status", Type: TypeRegular, Size: 100}, nil) // not kept
	ix.Add(FileMeta{Path: "/usr/lib", Type: TypeDir}, nil)
	ix.Add(FileMeta{Path: "/usr/lib/sysimage/rpm", Type: TypeDir}, nil)
	r := newSyftResolver(ix)

	for _, tt := range []struct {
		glob string
		want []string
	}{
		{pkg.RpmDBGlob, []string{"/usr/lib/sysimage/rpm/Packages.db"}},
		{pkg.ApkDBGlob, []string{"/lib/apk/db/installed"}},
		{"**/lib/dpkg/status", nil}, // exists, but its bytes were not kept
	} {
		locs, err := r.FilesByGlob(tt.glob)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, l := range locs {
			got = append(got, l.RealPath)
		}
		if len(got) != len(tt.want) || (len(got) > 0 && got[0] != tt.want[0]) {
			t.Errorf("FilesByGlob(%q) = %v, want %v", tt.glob, got, tt.want)
		}
	}

	locs, _ := r.FilesByPath("/var/lib/rpm/Packages.db", "/usr/lib", "/nope")
	if len(locs) != 1 || locs[0].RealPath != "/usr/lib/sysimage/rpm/Packages.db" || locs[0].AccessPath != "/var/lib/rpm/Packages.db" {
		t.Fatalf("FilesByPath through the /var/lib/rpm link = %+v, want one virtual location (directories and missing paths skipped)", locs)
	}
	rc, err := r.FileContentsByLocation(locs[0])
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	if string(b) != "ndb" {
		t.Errorf("contents %q", b)
	}
	if !r.HasPath("/var/lib/rpm") || !r.HasPath("/usr/lib") || r.HasPath("/etc/passwd") {
		t.Error("HasPath does not follow the index")
	}
	if rel := r.RelativeFileByPath(locs[0], "/lib/apk/db/installed"); rel == nil {
		t.Error("RelativeFileByPath found nothing")
	}
	if _, err := r.FileContentsByLocation(r.RelativeFileByPath(locs[0], "/var/lib/dpkg/status").WithoutAnnotations()); err == nil {
		t.Error("contents of a file that was not kept")
	}
	md, err := r.FileMetadataByLocation(locs[0])
	if err != nil || md.Size() != 3 || md.Path != "/usr/lib/sysimage/rpm/Packages.db" {
		t.Errorf("metadata %+v, %v", md, err)
	}
	n := 0
	for range r.AllLocations(context.Background()) {
		n++
	}
	if n != ix.Len() {
		t.Errorf("AllLocations gave %d, index has %d", n, ix.Len())
	}
}
