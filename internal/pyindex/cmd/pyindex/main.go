// Command pyindex serves a directory of wheels as a PEP 691/503 index, for
// demos and manual checks:
//
//	go run ./internal/pyindex/cmd/pyindex -dir testdata/cache/wheels -addr 127.0.0.1:0
//	pip download --no-deps --index-url http://127.0.0.1:PORT/simple --dest /tmp/d flask
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"

	"github.com/seshat-dev/seshat/internal/pyindex"
)

func main() {
	dir := flag.String("dir", "", "directory of .whl/.tar.gz files to serve")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	noMeta := flag.Bool("no-metadata", false, "do not serve PEP 658 .metadata files")
	htmlOnly := flag.Bool("html-only", false, "answer PEP 503 HTML only, never JSON")
	auth := flag.String("auth", "", "require basic auth, as user:password")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: pyindex -dir DIR [-addr HOST:PORT] [-no-metadata] [-html-only] [-auth user:pass]")
		os.Exit(2)
	}
	var opts []pyindex.Option
	if *noMeta {
		opts = append(opts, pyindex.WithoutMetadata())
	}
	if *htmlOnly {
		opts = append(opts, pyindex.WithHTMLOnly())
	}
	if *auth != "" {
		u, p, _ := strings.Cut(*auth, ":")
		opts = append(opts, pyindex.WithBasicAuth(u, p))
	}
	s, err := pyindex.New(*dir, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	stop, err := s.Listen(*addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer stop()
	fmt.Println(s.URL + "/simple/")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	<-sig
}
