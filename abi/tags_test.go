package abi

import (
	"debug/elf"
	"slices"
	"testing"
)

// The expected lists are written out from the rules of PEP 600 (every
// manylinux_2_Y from the image's glibc down to 2_17, or 2_5 on x86_64 and
// i686, with manylinux2014 = 2_17, manylinux2010 = 2_12, manylinux1 = 2_5
// right after the tag they alias) and PEP 656 (musllinux_1_Y down to 1_0).
func TestPlatformTags(t *testing.T) {
	tests := []struct {
		name string
		libc Libc
		arch string
		want []string
	}{
		{"glibc 2.17 x86_64", Libc{Family: "glibc", Version: "2.17"}, "x86_64", []string{
			"manylinux_2_17_x86_64", "manylinux2014_x86_64", "manylinux_2_16_x86_64",
			"manylinux_2_15_x86_64", "manylinux_2_14_x86_64", "manylinux_2_13_x86_64",
			"manylinux_2_12_x86_64", "manylinux2010_x86_64", "manylinux_2_11_x86_64",
			"manylinux_2_10_x86_64", "manylinux_2_9_x86_64", "manylinux_2_8_x86_64",
			"manylinux_2_7_x86_64", "manylinux_2_6_x86_64", "manylinux_2_5_x86_64", "manylinux1_x86_64",
			"linux_x86_64",
		}},
		{"glibc 2.17 aarch64", Libc{Family: "glibc", Version: "2.17"}, "aarch64", []string{
			"manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64",
		}},
		{"glibc 2.28 x86_64", Libc{Family: "glibc", Version: "2.28"}, "x86_64", []string{
			"manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_26_x86_64",
			"manylinux_2_25_x86_64", "manylinux_2_24_x86_64", "manylinux_2_23_x86_64",
			"manylinux_2_22_x86_64", "manylinux_2_21_x86_64", "manylinux_2_20_x86_64",
			"manylinux_2_19_x86_64", "manylinux_2_18_x86_64", "manylinux_2_17_x86_64",
			"manylinux2014_x86_64", "manylinux_2_16_x86_64", "manylinux_2_15_x86_64",
			"manylinux_2_14_x86_64", "manylinux_2_13_x86_64", "manylinux_2_12_x86_64",
			"manylinux2010_x86_64", "manylinux_2_11_x86_64", "manylinux_2_10_x86_64",
			"manylinux_2_9_x86_64", "manylinux_2_8_x86_64", "manylinux_2_7_x86_64", "manylinux_2_6_x86_64",
			"manylinux_2_5_x86_64", "manylinux1_x86_64", "linux_x86_64",
		}},
		{"glibc 2.28 aarch64", Libc{Family: "glibc", Version: "2.28"}, "aarch64", []string{
			"manylinux_2_28_aarch64", "manylinux_2_27_aarch64", "manylinux_2_26_aarch64",
			"manylinux_2_25_aarch64", "manylinux_2_24_aarch64", "manylinux_2_23_aarch64",
			"manylinux_2_22_aarch64", "manylinux_2_21_aarch64", "manylinux_2_20_aarch64",
			"manylinux_2_19_aarch64", "manylinux_2_18_aarch64", "manylinux_2_17_aarch64",
			"manylinux2014_aarch64", "linux_aarch64",
		}},
		{"glibc 2.36 x86_64", Libc{Family: "glibc", Version: "2.36"}, "x86_64", []string{
			"manylinux_2_36_x86_64", "manylinux_2_35_x86_64", "manylinux_2_34_x86_64",
			"manylinux_2_33_x86_64", "manylinux_2_32_x86_64", "manylinux_2_31_x86_64",
			"manylinux_2_30_x86_64", "manylinux_2_29_x86_64", "manylinux_2_28_x86_64",
			"manylinux_2_27_x86_64", "manylinux_2_26_x86_64", "manylinux_2_25_x86_64",
			"manylinux_2_24_x86_64", "manylinux_2_23_x86_64", "manylinux_2_22_x86_64",
			"manylinux_2_21_x86_64", "manylinux_2_20_x86_64", "manylinux_2_19_x86_64",
			"manylinux_2_18_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64",
			"manylinux_2_16_x86_64", "manylinux_2_15_x86_64", "manylinux_2_14_x86_64",
			"manylinux_2_13_x86_64", "manylinux_2_12_x86_64", "manylinux2010_x86_64",
			"manylinux_2_11_x86_64", "manylinux_2_10_x86_64", "manylinux_2_9_x86_64",
			"manylinux_2_8_x86_64", "manylinux_2_7_x86_64", "manylinux_2_6_x86_64", "manylinux_2_5_x86_64",
			"manylinux1_x86_64", "linux_x86_64",
		}},
		{"glibc 2.36 aarch64", Libc{Family: "glibc", Version: "2.36"}, "aarch64", []string{
			"manylinux_2_36_aarch64", "manylinux_2_35_aarch64", "manylinux_2_34_aarch64",
			"manylinux_2_33_aarch64", "manylinux_2_32_aarch64", "manylinux_2_31_aarch64",
			"manylinux_2_30_aarch64", "manylinux_2_29_aarch64", "manylinux_2_28_aarch64",
			"manylinux_2_27_aarch64", "manylinux_2_26_aarch64", "manylinux_2_25_aarch64",
			"manylinux_2_24_aarch64", "manylinux_2_23_aarch64", "manylinux_2_22_aarch64",
			"manylinux_2_21_aarch64", "manylinux_2_20_aarch64", "manylinux_2_19_aarch64",
			"manylinux_2_18_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64",
		}},
		{"glibc 2.12 i686", Libc{Family: "glibc", Version: "2.12"}, "i686", []string{
			"manylinux_2_12_i686", "manylinux2010_i686", "manylinux_2_11_i686", "manylinux_2_10_i686",
			"manylinux_2_9_i686", "manylinux_2_8_i686", "manylinux_2_7_i686", "manylinux_2_6_i686",
			"manylinux_2_5_i686", "manylinux1_i686", "linux_i686",
		}},
		{"glibc 2.28 ppc64le", Libc{Family: "glibc", Version: "2.28.9000"}, "ppc64le", []string{
			"manylinux_2_28_ppc64le", "manylinux_2_27_ppc64le", "manylinux_2_26_ppc64le", "manylinux_2_25_ppc64le",
			"manylinux_2_24_ppc64le", "manylinux_2_23_ppc64le", "manylinux_2_22_ppc64le", "manylinux_2_21_ppc64le",
			"manylinux_2_20_ppc64le", "manylinux_2_19_ppc64le", "manylinux_2_18_ppc64le", "manylinux_2_17_ppc64le",
			"manylinux2014_ppc64le", "linux_ppc64le",
		}},
		{"glibc 2.18 riscv64 has no legacy alias", Libc{Family: "glibc", Version: "2.18"}, "riscv64", []string{
			"manylinux_2_18_riscv64", "manylinux_2_17_riscv64", "linux_riscv64",
		}},
		{"glibc older than the oldest tag", Libc{Family: "glibc", Version: "2.16"}, "aarch64", []string{"linux_aarch64"}},
		{"musl 1.1 x86_64", Libc{Family: "musl", Version: "1.1.24"}, "x86_64", []string{
			"musllinux_1_1_x86_64", "musllinux_1_0_x86_64", "linux_x86_64",
		}},
		{"musl 1.2 x86_64", Libc{Family: "musl", Version: "1.2.3"}, "x86_64", []string{
			"musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "musllinux_1_0_x86_64", "linux_x86_64",
		}},
		{"musl 1.1 aarch64", Libc{Family: "musl", Version: "1.1.22"}, "aarch64", []string{
			"musllinux_1_1_aarch64", "musllinux_1_0_aarch64", "linux_aarch64",
		}},
		{"musl 1.2 aarch64", Libc{Family: "musl", Version: "1.2.5"}, "aarch64", []string{
			"musllinux_1_2_aarch64", "musllinux_1_1_aarch64", "musllinux_1_0_aarch64", "linux_aarch64",
		}},
		{"unknown libc", Libc{}, "x86_64", []string{"linux_x86_64"}},
		{"unparsable version", Libc{Family: "glibc", Version: "two"}, "x86_64", []string{"linux_x86_64"}},
		{"unknown arch", Libc{Family: "glibc", Version: "2.36"}, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PlatformTags(tc.libc, tc.arch)
			if !slices.Equal(got, tc.want) {
				t.Errorf("PlatformTags(%+v, %q) =\n%q\nwant\n%q", tc.libc, tc.arch, got, tc.want)
			}
		})
	}
}

func TestWheelArch(t *testing.T) {
	tests := []struct{ arch, variant, want string }{
		{"amd64", "", "x86_64"},
		{"arm64", "v8", "aarch64"},
		{"386", "", "i686"},
		{"ppc64le", "", "ppc64le"},
		{"s390x", "", "s390x"},
		{"arm", "v7", "armv7l"},
		{"arm", "", "armv7l"},
		{"arm", "v6", "armv6l"},
		{"riscv64", "", "riscv64"},
		{"x86_64", "", "x86_64"},
		{"wasm", "", ""},
	}
	for _, tc := range tests {
		if got := WheelArch(tc.arch, tc.variant); got != tc.want {
			t.Errorf("WheelArch(%q, %q) = %q, want %q", tc.arch, tc.variant, got, tc.want)
		}
	}
}

func TestArchFromMachine(t *testing.T) {
	tests := []struct {
		m    elf.Machine
		d    elf.Data
		want string
	}{
		{elf.EM_X86_64, elf.ELFDATA2LSB, "x86_64"},
		{elf.EM_AARCH64, elf.ELFDATA2LSB, "aarch64"},
		{elf.EM_PPC64, elf.ELFDATA2LSB, "ppc64le"},
		{elf.EM_PPC64, elf.ELFDATA2MSB, "ppc64"},
		{elf.EM_S390, elf.ELFDATA2MSB, "s390x"},
		{elf.EM_SPARCV9, elf.ELFDATA2MSB, ""},
	}
	for _, tc := range tests {
		if got := ArchFromMachine(tc.m, tc.d); got != tc.want {
			t.Errorf("ArchFromMachine(%v, %v) = %q, want %q", tc.m, tc.d, got, tc.want)
		}
	}
}

func TestSymbols(t *testing.T) {
	got := Symbols(
		[]string{"GLIBC_2.3", "GLIBC_2.2.5", "GLIBC_PRIVATE", "GLIBC_2.17", "GLIBC_2.3.4"},
		[]string{"GLIBCXX_3.4.9", "GLIBCXX_3.4", "GLIBCXX_3.4.30", "CXXABI_1.3.10", "CXXABI_1.3", "CXXABI_TM_1", "GLIBC_2.3"},
		[]string{"OPENSSL_1_1_1", "OPENSSL_1_1_0", "GLIBC_ABI_DT_RELR"},
	)
	want := map[string][]string{
		"GLIBC":     {"GLIBC_2.2.5", "GLIBC_2.3", "GLIBC_2.3.4", "GLIBC_2.17", "GLIBC_ABI_DT_RELR", "GLIBC_PRIVATE"},
		"GLIBCXX":   {"GLIBCXX_3.4", "GLIBCXX_3.4.9", "GLIBCXX_3.4.30"},
		"CXXABI":    {"CXXABI_1.3", "CXXABI_1.3.10"},
		"CXXABI_TM": {"CXXABI_TM_1"},
		"OPENSSL":   {"OPENSSL_1_1_0", "OPENSSL_1_1_1"},
	}
	if len(got) != len(want) {
		t.Errorf("families = %v, want %v", got, want)
	}
	for fam, w := range want {
		if !slices.Equal(got[fam], w) {
			t.Errorf("Symbols()[%s] = %q, want %q", fam, got[fam], w)
		}
	}
}
