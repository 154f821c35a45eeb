// Package abi reads the ABI facts of ELF files with debug/elf — sonames,
// needed libraries, symbol version definitions and requirements, the libc
// family and version — and derives the wheel platform tags (PEP 600
// manylinux, PEP 656 musllinux) an image with those facts accepts.
//
// It only reads bytes: it never loads or runs the objects it inspects.
package abi

// Report is the abi section of an Analysis.
type Report struct {
	Libc         *Libc               `json:"libc"`
	Libraries    []Library           `json:"libraries"`
	Symbols      map[string][]string `json:"symbols"`
	PlatformTags []string            `json:"platformTags"`
}

// Libc names the C library family ("glibc" or "musl"), its version and file.
type Libc struct {
	Family  string `json:"family"`
	Version string `json:"version"`
	Path    string `json:"path"`
}

// Library is one shared object on the loader path.
type Library struct {
	Path               string   `json:"path"`
	Soname             string   `json:"soname"`
	Needed             []string `json:"needed"`
	VersionDefinitions []string `json:"versionDefinitions"`
}
