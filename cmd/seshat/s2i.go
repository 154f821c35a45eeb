package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/seshat-dev/seshat/s2i"
)

func init() { subcommands = append(subcommands, newS2ICmd) }

func newS2ICmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "s2i",
		Short: "Source-to-Image hooks: advise a lockfile inside the builder, then run its stock scripts",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newS2IAssembleCmd())
	return cmd
}

func newS2IAssembleCmd() *cobra.Command {
	var root, src, scripts string
	cmd := &cobra.Command{
		Use:   "assemble",
		Short: "Advise a lockfile for the builder image from /tmp/src, then exec the stock assemble",
		Long: `assemble runs inside an S2I Python builder (sclorg-style) as the application's
.s2i/bin/assemble. It reads the application's Pipfile, pyproject.toml,
requirements.in or requirements.txt from /tmp/src, analyzes the builder itself
(--root /), writes requirements.txt with hashes — or Pipfile.lock when
ENABLE_PIPENV or ENABLE_MICROPIPENV is set — into /tmp/src, and execs
${STI_SCRIPTS_PATH:-/usr/libexec/s2i}/assemble, which installs it.

Environment:
  SESHAT_ADVISE=1               0: run the stock assemble at once
  SESHAT_DRY_RUN=0              1: print the advised lock, build with the app's own files
  SESHAT_ERROR_FALLBACK=0       1: a failed advise warns and builds with the app's own files
  SESHAT_FORMAT                 requirements, pipfile-lock or pylock
  SESHAT_RECOMMENDATION_TYPE    latest, stable, security or performance
  SESHAT_PRESCRIPTIONS          prescription directories, separated by ':'
  SESHAT_CACHE_DIR              keep the index cache here (default: a temporary directory)
  PIP_INDEX_URL, PIP_EXTRA_INDEX_URL   the indexes, as for pip`,
		Example: `  # .s2i/bin/assemble of an application (or s2i/bin/assemble from seshat):
  exec seshat s2i assemble

  # try it on a builder's root filesystem unpacked in ./rootfs:
  SESHAT_DRY_RUN=1 seshat s2i assemble --root ./rootfs --src ./app --scripts ./rootfs/usr/libexec/s2i`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return s2i.Assemble(cmd.Context(), adviseInProcess,
				s2i.WithRoot(root), s2i.WithSrc(src), s2i.WithScripts(scripts),
				s2i.WithOutput(cmd.OutOrStdout(), cmd.ErrOrStderr()))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&root, "root", s2i.DefaultRoot, "root filesystem of the builder to advise for")
	fl.StringVar(&src, "src", s2i.DefaultSrc, "application source directory")
	fl.StringVar(&scripts, "scripts", "", "directory of the stock S2I scripts (default $STI_SCRIPTS_PATH, else "+s2i.DefaultScripts+")")
	return cmd
}

// adviseInProcess runs `seshat advise ARGS` as the command line would, so
// the S2I step accepts and rejects exactly what a user's advise does.
func adviseInProcess(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCmd()
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(append([]string{"advise"}, args...))
	return root.ExecuteContext(ctx)
}
