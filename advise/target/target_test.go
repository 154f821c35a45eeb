package target

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"
)

// pipTags asks the real pip which tags it accepts for the same target: the
// reference seshat's tag order must match, since pip installs our lockfiles.
func pipTags(t *testing.T, version, impl string, platforms []string) []string {
	t.Helper()
	args := []string{"-m", "pip", "debug", "--verbose", "--python-version", version, "--implementation", impl}
	for _, p := range platforms {
		args = append(args, "--platform", p)
	}
	cmd := exec.Command("python3", args...)
	cmd.Env = append(cmd.Environ(), "PIP_DISABLE_PIP_VERSION_CHECK=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pip debug: %v (is pip installed? run make deps)", err)
	}
	var tags []string
	in := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Compatible tags:") {
			in = true
			continue
		}
		if in && strings.HasPrefix(line, "  ") {
			tags = append(tags, strings.TrimSpace(line))
		} else if in {
			break
		}
	}
	return tags
}

func TestTagsMatchPip(t *testing.T) {
	cases := []struct {
		name      string
		version   string
		platforms []string
	}{
		{"cp311 manylinux 2.36 and 2.17", "3.11", []string{"manylinux_2_36_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64", "linux_x86_64"}},
		{"cp313 aarch64", "3.13", []string{"manylinux_2_28_aarch64", "linux_aarch64"}},
		{"cp38 musl", "3.8", []string{"musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "linux_x86_64"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := Target{PythonVersion: c.version, Implementation: "cp", Platforms: c.platforms}
			if err := tg.Validate(); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range tg.Tags() {
				got = append(got, g.String())
			}
			want := pipTags(t, c.version, "cp", c.platforms)
			if len(want) == 0 {
				t.Fatal("pip listed no tags")
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("tags differ from pip's\n got %d: %v\nwant %d: %v", len(got), got, len(want), want)
			}
		})
	}
}

func TestMarkers(t *testing.T) {
	m := Target{PythonVersion: "3.11", Platforms: []string{"manylinux_2_36_x86_64"}}.Markers()
	want := map[string]string{
		"python_version": "3.11", "python_full_version": "3.11.0", "implementation_name": "cpython",
		"platform_python_implementation": "CPython", "platform_machine": "x86_64",
		"sys_platform": "linux", "os_name": "posix", "platform_system": "Linux",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	if got := (Target{PythonVersion: "3.10.4", Implementation: "pp", Platforms: []string{"linux_aarch64"}}).Markers(); got["implementation_name"] != "pypy" || got["platform_machine"] != "aarch64" || got["python_full_version"] != "3.10.4" {
		t.Errorf("pypy markers: %v", got)
	}
}

func TestValidateExplains(t *testing.T) {
	for _, tg := range []Target{
		{PythonVersion: "three", Platforms: []string{"linux_x86_64"}},
		{PythonVersion: "3.11", Implementation: "jy", Platforms: []string{"linux_x86_64"}},
		{PythonVersion: "3.11"},
	} {
		if err := tg.Validate(); err == nil {
			t.Errorf("%+v: no error", tg)
		}
	}
}

func TestArchOfPlatform(t *testing.T) {
	for tag, want := range map[string]string{
		"manylinux_2_17_x86_64": "x86_64", "manylinux2014_aarch64": "aarch64", "musllinux_1_2_armv7l": "armv7l",
		"linux_ppc64le": "ppc64le", "manylinux1_i686": "i686", "any": "",
	} {
		if got := ArchOfPlatform(tag); got != want {
			t.Errorf("ArchOfPlatform(%q) = %q, want %q", tag, got, want)
		}
	}
}
