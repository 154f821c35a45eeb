// Command seshat-frontend is seshat's BuildKit gateway frontend: the
// entrypoint of the image a Dockerfile names with `# syntax=`. BuildKit
// starts it and talks to it over its standard input and output; it is not
// meant to be run by hand. See package frontend.
package main

import (
	"fmt"
	"os"

	"github.com/moby/buildkit/frontend/gateway/grpcclient"
	"github.com/moby/buildkit/util/appcontext"
	_ "github.com/moby/buildkit/util/grpcutil/encoding/proto" // the gateway's gRPC codec

	"github.com/seshat-dev/seshat/buildkit/frontend"
)

func main() {
	if err := grpcclient.RunFromEnvironment(appcontext.Context(), frontend.Build); err != nil {
		fmt.Fprintln(os.Stderr, "seshat-frontend:", err)
		os.Exit(1)
	}
}
