package index

import (
	"strings"
	"testing"
)

func TestParseNetrc(t *testing.T) {
	const file = `# comment line
machine pypi.example.com login alice password s3cret
default login anon password guest

macdef init
  cd /pub
  machine not.a.machine login x password y

machine files.example.com
	login bob
	account acct
	password "p w"
`
	entries, err := parseNetrc(file)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{netrc: entries}
	for host, want := range map[string]string{
		"pypi.example.com":  "alice:s3cret",
		"files.example.com": "bob:p w",
		"other.example.com": "anon:guest",
		"not.a.machine":     "anon:guest", // inside macdef, ignored
	} {
		u, p, ok := c.netrcLookup(host)
		if !ok || u+":"+p != want {
			t.Errorf("%s: got %s:%s (%v), want %s", host, u, p, ok, want)
		}
	}
	for _, bad := range []string{"machine", "login alice", "machine h login", "machine h user x", `machine h password "open`} {
		if _, err := parseNetrc(bad); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("parseNetrc(%q) = %v, want an error at line 1", bad, err)
		}
	}
}
