package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/seshat-dev/seshat/advise/prescription"
)

func init() {
	subcommands = append(subcommands, newPrescriptionsCmd)
	exitClasses = append(exitClasses,
		// 8: prescriptions with schema or syntax errors (file:line each).
		exitClass{8, func(err error) bool {
			var pe *prescription.ProblemsError
			var ve problemsFound
			return errors.As(err, &pe) || errors.As(err, &ve)
		}},
	)
}

// problemsFound ends `prescriptions validate` after it printed the problems.
type problemsFound struct{ n, files int }

func (p problemsFound) Error() string {
	return fmt.Sprintf("%d problem(s) in %d prescription file(s)", p.n, p.files)
}

func newPrescriptionsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "prescriptions",
		Short: "Work with Thoth-style prescriptions",
	}
	cmd.AddCommand(newPrescriptionsValidateCmd())
	return cmd
}

func newPrescriptionsValidateCmd() *cobra.Command {
	var noCache bool
	var cache string
	cmd := &cobra.Command{
		Use:   "validate DIR...",
		Short: "Check prescription YAML against the schema, reporting file:line problems",
		Long: `validate loads every *.yaml and *.yml file under each DIR (hidden files and
directories are skipped; a _prescription_metadata.yaml names the prescription
for everything below it) in the schema of Thoth's prescriptions repository,
github.com/thoth-station/prescriptions, and prints each problem as

  file:line: message

— unknown keys, wrong types, missing name/type/match/run, bad version
specifiers, unknown recommendation types, ` + "`not:`" + ` where it is not allowed,
duplicate unit names. seshat evaluates every unit type of Thoth's schema:
boot, pseudonym, sieve, sieve.SkipPackage, step, step.SkipPackage,
step.AddPackage, step.Group, stride, wrap, wrap.GHReleaseNotes. (Should a
type Thoth knows go unevaluated, its units are reported once per type on
stderr as a warning, and do not fail validation.)

What each file yields is cached in $XDG_CACHE_HOME/seshat/prescriptions
(with --cache-dir, in DIR/prescriptions), by the file's device, inode, size
and modification and change times: the next run, and advise, read only the
files changed since. --no-cache reads every file. On Linux, files are opened,
read and stat'ed in io_uring batches where the kernel allows it (not in
Docker's default seccomp profile); SESHAT_IO_URING=0 reads them one by one.

The same directories can be given to ` + "`seshat advise --prescriptions DIR`" + `;
a checkout of the public repository works as is:

  git clone https://github.com/thoth-station/prescriptions
  seshat prescriptions validate prescriptions/prescriptions

Exit status: 0 when every file is valid, 8 when there are problems, 1 when a
directory cannot be read.`,
		Example: `  seshat prescriptions validate ./prescriptions
  seshat prescriptions validate ~/src/prescriptions/prescriptions ./local`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageError{errors.New("prescriptions validate needs at least one DIR")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, dirs []string) error {
			for _, d := range dirs {
				if _, err := os.Stat(d); err != nil {
					return fmt.Errorf("reading prescriptions: %w", err)
				}
			}
			start := time.Now()
			dir := cacheDir("prescriptions", cache)
			if noCache {
				dir = ""
			}
			set, err := prescription.LoadCached(dir, dirs...)
			out, errOut := cmd.OutOrStdout(), cmd.ErrOrStderr()
			var pe *prescription.ProblemsError
			if errors.As(err, &pe) {
				files := map[string]bool{}
				for _, p := range pe.Problems {
					fmt.Fprintln(out, p)
					files[p.File] = true
				}
				return problemsFound{n: len(pe.Problems), files: len(files)}
			}
			if err != nil {
				return err
			}
			for _, w := range set.Warnings {
				fmt.Fprintf(errOut, "warning: %s\n", w)
			}
			fmt.Fprintf(errOut, "%d units in %d files are valid (%.2fs", set.Len(), set.Files, time.Since(start).Seconds())
			if set.Cached > 0 {
				fmt.Fprintf(errOut, "; %d files unchanged since the last run, from the cache", set.Cached)
			}
			fmt.Fprintln(errOut, ")")
			return nil
		},
	}
	cmd.Flags().BoolVar(&noCache, "no-cache", false, "read every file, neither using nor updating the cache")
	cmd.Flags().StringVar(&cache, "cache-dir", "", "keep the cache in `DIR`/prescriptions, as advise --cache-dir does (default $XDG_CACHE_HOME/seshat/prescriptions)")
	return cmd
}
