package extract

import (
	"time"

	"github.com/seshat-dev/seshat/abi"
)

// SchemaV1 names the version of the Analysis JSON contract (docs/analysis.md).
const SchemaV1 = "seshat.analysis/v1"

// Analysis is everything seshat learned about one image. Its JSON form is
// the contract documented field by field in docs/analysis.md.
type Analysis struct {
	Schema   string      `json:"schema"`
	Image    ImageInfo   `json:"image"`
	OS       *OSRelease  `json:"os"`
	Packages []Package   `json:"packages"`
	Python   *Python     `json:"python,omitempty"`
	ABI      *abi.Report `json:"abi,omitempty"`
	CUDA     *CUDA       `json:"cuda"`
	Warnings []Warning   `json:"warnings"`
}

// ImageInfo is the image's own metadata, what `skopeo inspect` shows.
type ImageInfo struct {
	Reference string      `json:"reference"`
	Digest    string      `json:"digest,omitempty"`
	MediaType string      `json:"mediaType,omitempty"`
	Platform  Platform    `json:"platform"`
	Created   *time.Time  `json:"created,omitempty"`
	Config    ImageConfig `json:"config"`
	Layers    []Layer     `json:"layers"`
	Size      int64       `json:"size"`
}

// Platform is the os/architecture/variant an image was built for.
type Platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

// ImageConfig holds the parts of the image config a user of seshat reads.
type ImageConfig struct {
	Env        []string          `json:"env"`
	Labels     map[string]string `json:"labels"`
	User       string            `json:"user"`
	WorkingDir string            `json:"workingDir"`
	Entrypoint []string          `json:"entrypoint"`
	Cmd        []string          `json:"cmd"`
}

// Layer describes one layer blob as stored (compressed).
type Layer struct {
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
}

// OSRelease is the content of /etc/os-release (or /usr/lib/os-release).
type OSRelease struct {
	ID         string   `json:"id"`
	VersionID  string   `json:"versionId"`
	Name       string   `json:"name"`
	PrettyName string   `json:"prettyName"`
	IDLike     []string `json:"idLike"`
}

// Package is one OS package (rpm, deb or apk) installed in the image.
type Package struct {
	Type    string `json:"type"` // "rpm", "deb" or "apk"
	Name    string `json:"name"`
	Version string `json:"version"` // upstream version alone
	Release string `json:"release,omitempty"`
	Epoch   *int   `json:"epoch"`
	Arch    string `json:"arch,omitempty"`
	Source  string `json:"source,omitempty"`
}

// Python lists the interpreters and environments found without running any.
type Python struct {
	Interpreters []Interpreter `json:"interpreters"`
	Environments []Environment `json:"environments"`
}

// Interpreter is one Python interpreter binary in the image.
type Interpreter struct {
	Path           string   `json:"path"`
	Links          []string `json:"links"`
	Version        string   `json:"version"`
	Implementation string   `json:"implementation"` // "cpython" or "pypy"
	SOABI          string   `json:"soabi"`
	ABIFlags       string   `json:"abiFlags"`
	Prefix         string   `json:"prefix"`
}

// Environment is a site-packages directory or venv and what is installed in it.
type Environment struct {
	Path          string         `json:"path"`
	Interpreter   string         `json:"interpreter"`
	Distributions []Distribution `json:"distributions"`
}

// Distribution is one installed Python distribution (.dist-info or .egg-info).
type Distribution struct {
	Name      string   `json:"name"`
	Version   string   `json:"version"`
	Requires  []string `json:"requires"`
	Installer string   `json:"installer"`
	Location  string   `json:"location"`
}

// CUDA is the CUDA toolkit and cuDNN found in the image.
type CUDA struct {
	Version      string `json:"version"`
	Source       string `json:"source"`
	CuDNNVersion string `json:"cudnnVersion,omitempty"`
	CuDNNSource  string `json:"cudnnSource,omitempty"`
}

// Warning records something skipped or unreadable, and why.
type Warning struct {
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}
