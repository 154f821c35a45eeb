// Command seshat looks inside container images and writes Python lockfiles
// that fit them. This package only wires flags to the library packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	root := newRootCmd()
	err := root.ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "seshat: %v\n", err)
		os.Exit(exitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "seshat",
		Short: "Look inside container images and write Python lockfiles that fit them",
		Long: `seshat reads a container image without running it — OS, packages, Python
interpreters and environments, glibc and symbol versions, CUDA — and resolves
Python requirements into a lockfile that installs on exactly that image.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newVersionCmd())
	for _, add := range subcommands {
		root.AddCommand(add())
	}
	return root
}

// subcommands is filled by the init functions of the command files, so each
// command lives in its own file and main.go needs no edit to gain one.
var subcommands []func() *cobra.Command

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print seshat's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintln(cmd.OutOrStdout(), version)
			return err
		},
	}
}

// usageError marks a mistake in the command line itself (exit code 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

// exitCode maps an error to the documented exit code (README, "Exit codes").
func exitCode(err error) int {
	var ue usageError
	switch {
	case errors.As(err, &ue):
		return 2
	default:
		for _, c := range exitClasses {
			if c.match(err) {
				return c.code
			}
		}
		return 1
	}
}

// exitClass ties a family of library errors to an exit code.
type exitClass struct {
	code  int
	match func(error) bool
}

// exitClasses is extended by the command files for their packages' errors.
var exitClasses []exitClass
