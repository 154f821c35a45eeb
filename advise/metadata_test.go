package advise

import (
	"slices"
	"testing"
)

func TestParseCoreMetadata(t *testing.T) {
	md := parseCoreMetadata([]byte("Metadata-Version: 2.2\r\nName: Demo\r\nVersion: 1.0\r\n" +
		"Requires-Dist: a>=1;\r\n  python_version < '3.12'\r\nrequires-dist: b\r\nProvides-Extra: X\r\nDynamic: License\r\n" +
		"\r\nRequires-Dist: not-a-header-but-the-description\r\n"))
	if md.MetadataVersion != "2.2" || md.Name != "Demo" || md.Version != "1.0" {
		t.Errorf("header fields: %+v", md)
	}
	if want := []string{"a>=1; python_version < '3.12'", "b"}; !slices.Equal(md.RequiresDist, want) {
		t.Errorf("Requires-Dist = %q, want %q (continuation folded, keys case-insensitive, body ignored)", md.RequiresDist, want)
	}
	if !slices.Equal(md.ProvidesExtra, []string{"X"}) || !slices.Equal(md.Dynamic, []string{"License"}) {
		t.Errorf("extras %q dynamic %q", md.ProvidesExtra, md.Dynamic)
	}
}

func TestSdistVersion(t *testing.T) {
	for _, c := range []struct{ name, file, want string }{
		{"charset-normalizer", "charset-normalizer-3.0.1.tar.gz", "3.0.1"},
		{"charset-normalizer", "charset_normalizer-3.0.1.tar.gz", "3.0.1"},
		{"zope-interface", "zope.interface-6.0.zip", "6.0"},
		{"flask", "flask-sqlalchemy-3.0.tar.gz", ""},
		{"flask", "flask-2.0.whl", ""},
	} {
		if got := sdistVersion(c.name, c.file); got != c.want {
			t.Errorf("sdistVersion(%s, %s) = %q, want %q", c.name, c.file, got, c.want)
		}
	}
}
