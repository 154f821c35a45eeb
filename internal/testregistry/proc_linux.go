package testregistry

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the registry if the test binary dies
// (a timeout, a crash) before its cleanup runs, so no registry is left behind.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
