package lock

import (
	"fmt"
	"io"
	"strings"
)

// RequirementsOptions tunes WriteRequirements.
type RequirementsOptions struct {
	// Develop also writes packages needed only by [dev-packages].
	Develop bool
	// IndexURLs writes --index-url / --extra-index-url lines for
	// l.Indexes. Off by default: URLs may carry credentials.
	IndexURLs bool
}

// WriteRequirements writes l as a requirements file pip installs with
// --require-hashes: one `name==version` per package with a
// `--hash=sha256:…` line per kept artifact (sorted), `; marker` where the
// marker still matters, and `# via` comments.
func WriteRequirements(w io.Writer, l *Lock, opts RequirementsOptions) error {
	pkgs, err := l.sortedPackages()
	if err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("#\n# This file was written by seshat (seshat advise); edit the input and run it again.\n")
	if l.Target != "" {
		fmt.Fprintf(&b, "# Target: %s\n", oneLine(l.Target))
	}
	if l.RequiresPython != "" {
		fmt.Fprintf(&b, "# Python: %s\n", oneLine(l.RequiresPython))
	}
	b.WriteString("#\n")
	if opts.IndexURLs {
		for i, x := range l.Indexes {
			flag := "--extra-index-url"
			if i == 0 {
				flag = "--index-url"
			}
			if strings.ContainsAny(x.URL, " \t\r\n") {
				return fmt.Errorf("writing requirements: index URL %q contains white space", x.URL)
			}
			fmt.Fprintf(&b, "%s %s\n", flag, x.URL)
		}
	}
	for _, p := range pkgs {
		if !p.inDefault() && !opts.Develop {
			continue
		}
		if len(p.Artifacts) == 0 {
			return fmt.Errorf("writing requirements: %s %s has no artifact to hash; pip --require-hashes would refuse it", p.Name, p.Version)
		}
		b.WriteString(p.Name)
		if ex := p.sortedExtras(); len(ex) > 0 {
			fmt.Fprintf(&b, "[%s]", strings.Join(ex, ","))
		}
		b.WriteString("==")
		b.WriteString(p.Version)
		if !p.Marker.IsEmpty() {
			b.WriteString(" ; ")
			b.WriteString(p.Marker.String())
		}
		for _, h := range p.hashes() {
			b.WriteString(" \\\n    --hash=")
			b.WriteString(h)
		}
		b.WriteByte('\n')
		switch len(p.Via) {
		case 0:
		case 1:
			fmt.Fprintf(&b, "    # via %s\n", oneLine(p.Via[0]))
		default:
			b.WriteString("    # via\n")
			for _, v := range sortedCopy(p.Via) {
				fmt.Fprintf(&b, "    #   %s\n", oneLine(v))
			}
		}
	}
	_, err = io.WriteString(w, b.String())
	return err
}

// oneLine keeps text from other sources from breaking out of a comment.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}
