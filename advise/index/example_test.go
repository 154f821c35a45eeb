package index_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seshat-dev/seshat/advise/index"
	"github.com/seshat-dev/seshat/internal/fixtures"
	"github.com/seshat-dev/seshat/internal/pyindex"
)

// List a project's files and read the newest one's metadata: two requests,
// the JSON project page and the PEP 658 .metadata file.
func Example() {
	srv, err := pyindex.New(filepath.Join(fixtures.Root(), "wheels"))
	if err != nil {
		fmt.Println(err)
		return
	}
	stop, _ := srv.Listen("127.0.0.1:0")
	defer stop()
	cache, _ := os.MkdirTemp("", "seshat-example")
	defer os.RemoveAll(cache)

	c, err := index.New([]index.IndexURL{{Name: "pypi", URL: srv.URL + "/simple"}},
		index.WithCacheDir(cache), index.WithNetrc(""))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	files, err := c.Project(ctx, "Flask")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range files {
		fmt.Println(f.Filename, f.RequiresPython, f.Index)
	}
	meta, _ := c.Metadata(ctx, files[len(files)-1])
	fmt.Println(len(meta) > 0, c.Stats().Requests)
	// Output:
	// flask-2.2.2-py3-none-any.whl >=3.7 pypi
	// flask-3.1.1-py3-none-any.whl >=3.9 pypi
	// true 2
}
