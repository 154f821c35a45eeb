package prescription

import (
	"sort"
	"strconv"
	"strings"

	"github.com/seshat-dev/seshat/extract"
)

// ContextFromAnalysis fills the runtime-environment half of a Context from
// an image Analysis: OS, CUDA and cuDNN, the symbol versions its libraries
// offer, its RPMs and every Python distribution installed, the image
// reference as base image. pythonVersion is that of the interpreter the
// lock is for ("3.11" or "3.11.4"); Thoth compares major.minor. The caller
// sets the recommendation type, pipeline and labels.
func ContextFromAnalysis(a *extract.Analysis, pythonVersion string) Context {
	ctx := Context{PythonVersion: majorMinor(pythonVersion), BaseImage: a.Image.Reference}
	if a.OS != nil {
		ctx.OS = OS{Name: a.OS.ID, Version: a.OS.VersionID}
	}
	if p := a.Image.Platform; p.OS != "" {
		ctx.Platform = p.OS + "-" + thothArch(p.Architecture)
	}
	if a.CUDA != nil {
		ctx.CUDAVersion, ctx.CUDNNVersion = a.CUDA.Version, a.CUDA.CuDNNVersion
	}
	if a.ABI != nil {
		seen := map[string]bool{}
		for _, versions := range a.ABI.Symbols {
			for _, v := range versions {
				if !seen[v] {
					seen[v] = true
					ctx.ABI = append(ctx.ABI, v)
				}
			}
		}
		sort.Strings(ctx.ABI)
	}
	for _, p := range a.Packages {
		if p.Type != "rpm" {
			continue
		}
		r := RPM{Name: p.Name, Version: p.Version, Release: p.Release, Arch: p.Arch}
		if p.Epoch != nil {
			r.Epoch = strconv.Itoa(*p.Epoch)
		}
		ctx.RPMPackages = append(ctx.RPMPackages, r)
	}
	if a.Python != nil {
		for _, env := range a.Python.Environments {
			for _, d := range env.Distributions {
				loc := d.Location
				if loc == "" {
					loc = env.Path
				}
				ctx.PythonPackages = append(ctx.PythonPackages, InstalledPackage{Name: d.Name, Version: d.Version, Location: loc})
			}
		}
	}
	return ctx
}

func majorMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// thothArch spells architectures as Thoth's platforms do (linux-x86_64).
func thothArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	}
	return goarch
}
