package advise

import (
	"fmt"

	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/advise/lock"
	"github.com/seshat-dev/seshat/advise/reqfile"
)

// DefaultIndex is the index used when nothing names one: PyPI's simple API.
const DefaultIndex = "https://pypi.org/simple"

// IndexChoice is what names the indexes of a resolution, most binding first.
type IndexChoice struct {
	// IndexURL replaces the default index (--index-url).
	IndexURL string
	// EnvIndexURL is the default index when neither IndexURL nor the input
	// names one ($PIP_INDEX_URL).
	EnvIndexURL string
	// Extra are consulted after the others (--extra-index-url).
	Extra []string
}

// ChooseIndexes orders the indexes of in: the default one first
// (c.IndexURL, else the input's first, else c.EnvIndexURL, else
// DefaultIndex), then the input's others, then c.Extra. Unnamed indexes
// are named as a synthesized Pipfile names them ("default", "index-1", …).
// A requirement pinned to an index the input does not declare is an
// InputError.
func ChooseIndexes(in *reqfile.Input, c IndexChoice) ([]reqfile.Index, error) {
	var out []reqfile.Index
	switch {
	case c.IndexURL != "":
		out = append(out, reqfile.Index{URL: c.IndexURL, VerifySSL: true})
		out = append(out, in.Indexes...)
	case len(in.Indexes) > 0:
		out = append(out, in.Indexes...)
	case c.EnvIndexURL != "":
		out = append(out, reqfile.Index{URL: c.EnvIndexURL, VerifySSL: true})
	default:
		out = append(out, reqfile.Index{Name: "pypi", URL: DefaultIndex, VerifySSL: true})
	}
	for _, u := range c.Extra {
		out = append(out, reqfile.Index{URL: u, VerifySSL: true})
	}
	names := map[string]bool{}
	for i := range out {
		if out[i].Name == "" {
			out[i].Name = fmt.Sprintf("index-%d", i)
			if i == 0 {
				out[i].Name = "default"
			}
		}
		names[out[i].Name] = true
	}
	for _, r := range append(in.Default, in.Develop...) {
		if r.Index != "" && !names[r.Index] {
			return nil, &InputError{Source: r.Pos, Msg: fmt.Sprintf("%s names index %q, which is not a [[source]] of %s", r.Name, r.Index, in.Source)}
		}
	}
	return out, nil
}

// NewIndexClient returns the client over indexes (from ChooseIndexes), each
// requirement of in that names an index pinned to it, and the indexes as a
// lock records them (WithIndexes).
func NewIndexClient(in *reqfile.Input, indexes []reqfile.Index, opts ...index.Option) (*index.Client, []lock.Index, error) {
	var urls []index.IndexURL
	var lockIdx []lock.Index
	for _, x := range indexes {
		urls = append(urls, index.IndexURL{Name: x.Name, URL: x.URL})
		lockIdx = append(lockIdx, lock.Index{Name: x.Name, URL: x.URL, VerifySSL: x.VerifySSL})
	}
	for _, r := range append(in.Default, in.Develop...) {
		if r.Index != "" {
			opts = append(opts, index.WithPin(r.Canonical(), r.Index))
		}
	}
	client, err := index.New(urls, opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("setting up the index client: %w", err)
	}
	return client, lockIdx, nil
}
