package extract

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestParseCoreMetadata(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      CoreMetadata
		wantErr   error
		truncated bool
	}{
		{
			name: "wheel METADATA with a body",
			in: "Metadata-Version: 2.1\nName: requests\nVersion: 2.28.1\nRequires-Python: >=3.7, <4\n" +
				"Requires-Dist: charset-normalizer (<3,>=2)\nRequires-Dist: idna (<4,>=2.5)\n" +
				"Requires-Dist: PySocks (!=1.5.7,>=1.5.6) ; extra == 'socks'\n\n# Requests\nName: not-a-header\n",
			want: CoreMetadata{Name: "requests", Version: "2.28.1", RequiresDist: []string{
				"charset-normalizer (<3,>=2)", "idna (<4,>=2.5)", "PySocks (!=1.5.7,>=1.5.6) ; extra == 'socks'"}},
		},
		{
			name: "CRLF and a folded header",
			in:   "Metadata-Version: 1.1\r\nName: Foo.Bar\r\nVersion: 1.0\r\nRequires-Dist: a;\r\n  python_version < '3.8'\r\nSummary: x\r\n",
			want: CoreMetadata{Name: "Foo.Bar", Version: "1.0", RequiresDist: []string{"a; python_version < '3.8'"}},
		},
		{
			name: "invalid UTF-8 is replaced, not fatal",
			in:   "Name: caf\xe9\nVersion: 1.0\nAuthor: J\xfcrgen\n",
			want: CoreMetadata{Name: "caf\uFFFD", Version: "1.0"},
		},
		{
			name: "leading blank lines and junk lines",
			in:   "\n\nName: x\nthis line is junk\nVersion: 2\n",
			want: CoreMetadata{Name: "x", Version: "2"},
		},
		{
			name: "first of repeated Name wins, keys are case-insensitive",
			in:   "name: first\nNAME: second\nversion: 3\n",
			want: CoreMetadata{Name: "first", Version: "3"},
		},
		{
			name:    "no headers",
			in:      "just some text without a colon\n",
			wantErr: errNoHeaders,
		},
		{
			name:    "empty",
			in:      "",
			wantErr: errNoHeaders,
		},
		{
			name:      "headers longer than the bound",
			in:        "Name: big\nVersion: 1\nDescription: " + strings.Repeat("x", maxMetadataHeader) + "\nRequires-Dist: never-read\n",
			want:      CoreMetadata{Name: "big", Version: "1"},
			truncated: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCoreMetadata(strings.NewReader(tc.in))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.want.Name || got.Version != tc.want.Version || !slices.Equal(got.RequiresDist, tc.want.RequiresDist) || got.Truncated != tc.truncated {
				t.Errorf("got %+v, want %+v (truncated %v)", got, tc.want, tc.truncated)
			}
		})
	}
}

func TestEggRequires(t *testing.T) {
	// requires.txt as setuptools writes it (this one is requests 2.28's).
	in := "charset_normalizer<3,>=2\nidna<4,>=2.5\nurllib3<1.27,>=1.21.1\ncertifi>=2017.4.17\n\n" +
		"[socks]\nPySocks!=1.5.7,>=1.5.6\n\n[use_chardet_on_py3]\nchardet<6,>=3.0.2\n\n" +
		"[:python_version < \"3.8\"]\nimportlib-metadata\n\n[security:sys_platform == \"win32\"]\npywin32\n" +
		"[url]\nfoo @ https://example.invalid/foo.zip\n"
	want := []string{
		"charset_normalizer<3,>=2", "idna<4,>=2.5", "urllib3<1.27,>=1.21.1", "certifi>=2017.4.17",
		`PySocks!=1.5.7,>=1.5.6; extra == "socks"`,
		`chardet<6,>=3.0.2; extra == "use_chardet_on_py3"`,
		`importlib-metadata; python_version < "3.8"`,
		`pywin32; (sys_platform == "win32") and extra == "security"`,
		`foo @ https://example.invalid/foo.zip ; extra == "url"`,
	}
	if got := eggRequires([]byte(in)); !slices.Equal(got, want) {
		t.Errorf("eggRequires =\n%q\nwant\n%q", got, want)
	}
}

func FuzzParseCoreMetadata(f *testing.F) {
	// Seeds are in testdata/fuzz/FuzzParseCoreMetadata: real METADATA and
	// PKG-INFO heads, folded, CRLF and non-UTF-8 variants.
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := ParseCoreMetadata(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, s := range append([]string{md.Name, md.Version}, md.RequiresDist...) {
			if strings.ContainsAny(s, "\r\n") {
				t.Fatalf("header value %q spans lines", s)
			}
		}
	})
}
