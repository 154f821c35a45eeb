package extract

import (
	"strings"
	"testing"
)

// The version files under testdata/cuda are written in NVIDIA's published
// formats: version.txt of CUDA 10.2, version.json of 11.8 (whose "cuda"
// entry carries the installer's build date) and of 12.4, cudnn_version.h
// of cuDNN 8.9 and cudnn.h of cuDNN 7.6.
func TestCUDAExtractor(t *testing.T) {
	const td = "testdata/cuda/"
	tests := []struct {
		name        string
		entries     []treeEntry
		env         []string
		want        *CUDA
		warnAbout   string // a warning's path must equal this ("" = no warning)
		warnMessage string
	}{
		{
			name: "10.2 version.txt with cudnn.h 7.6",
			entries: []treeEntry{
				{path: "usr/local/cuda-10.2/version.txt", from: td + "version-10.2.txt"},
				{path: "usr/local/cuda", link: "cuda-10.2"},
				{path: "usr/include/cudnn.h", from: td + "cudnn-7.6.h"},
			},
			env:  []string{"PATH=/usr/local/nvidia/bin:/usr/local/cuda/bin:/usr/bin", "CUDA_VERSION=10.2.89"},
			want: &CUDA{Version: "10.2.89", Source: "/usr/local/cuda-10.2/version.txt", CuDNNVersion: "7.6.5", CuDNNSource: "/usr/include/cudnn.h"},
		},
		{
			name: "11.8 version.json and cudnn_version.h 8.9 via alternatives",
			entries: []treeEntry{
				{path: "usr/local/cuda-11.8/version.json", from: td + "version-11.8.json"},
				{path: "usr/local/cuda", link: "/etc/alternatives/cuda"},
				{path: "etc/alternatives/cuda", link: "/usr/local/cuda-11.8"},
				{path: "usr/include/x86_64-linux-gnu/cudnn_version_v8.h", from: td + "cudnn_version-8.9.h"},
				{path: "usr/include/cudnn_version.h", link: "/etc/alternatives/cudnn_version_h"},
				{path: "etc/alternatives/cudnn_version_h", link: "/usr/include/x86_64-linux-gnu/cudnn_version_v8.h"},
			},
			env:  []string{"CUDA_VERSION=11.8.0", "NV_CUDNN_VERSION=8.9.7.29-1"},
			want: &CUDA{Version: "11.8", Source: "/usr/local/cuda-11.8/version.json", CuDNNVersion: "8.9.7", CuDNNSource: "/usr/include/cudnn_version.h"},
		},
		{
			name: "12.4 version.json, newest of two toolkits, no /usr/local/cuda link",
			entries: []treeEntry{
				{path: "usr/local/cuda-11.8/version.json", from: td + "version-11.8.json"},
				{path: "usr/local/cuda-12.4/version.json", from: td + "version-12.4.json"},
			},
			want: &CUDA{Version: "12.4.1", Source: "/usr/local/cuda-12.4/version.json"},
		},
		{
			name:    "env only",
			entries: []treeEntry{{path: "etc/hostname", data: "x\n"}},
			env:     []string{"CUDA_VERSION=12.1.1", "NV_CUDNN_VERSION=8.9.0.131-1"},
			want:    &CUDA{Version: "12.1.1", Source: "env:CUDA_VERSION", CuDNNVersion: "8.9.0.131", CuDNNSource: "env:NV_CUDNN_VERSION"},
		},
		{
			name: "library file names only",
			entries: []treeEntry{
				{path: "usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudart.so.12.4.127", data: "\x7fELF"},
				{path: "usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudart.so.12", link: "libcudart.so.12.4.127"},
				{path: "usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0", data: "\x7fELF"},
				{path: "usr/lib/x86_64-linux-gnu/libcudnn.so.9", link: "libcudnn.so.9.1.0"},
			},
			want: &CUDA{Version: "12.4.127", Source: "/usr/local/cuda-12.4/targets/x86_64-linux/lib/libcudart.so.12.4.127",
				CuDNNVersion: "9.1.0", CuDNNSource: "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.1.0"},
		},
		{
			name: "a major-only soname of CUDA 11+ does not tell the release",
			entries: []treeEntry{
				{path: "usr/lib/x86_64-linux-gnu/libcudart.so.11.0", data: "\x7fELF"},
			},
			env:  []string{"CUDA_VERSION=11.7.1"},
			want: &CUDA{Version: "11.7.1", Source: "env:CUDA_VERSION"},
		},
		{
			name: "file and env disagree: the file wins, with a warning",
			entries: []treeEntry{
				{path: "usr/local/cuda-12.4/version.json", from: td + "version-12.4.json"},
				{path: "usr/local/cuda", link: "cuda-12.4"},
			},
			env:         []string{"CUDA_VERSION=11.8.0"},
			want:        &CUDA{Version: "12.4.1", Source: "/usr/local/cuda-12.4/version.json"},
			warnAbout:   "/usr/local/cuda-12.4/version.json",
			warnMessage: "CUDA_VERSION=11.8.0",
		},
		{
			name: "broken version.json falls back to env, with a warning",
			entries: []treeEntry{
				{path: "usr/local/cuda-12.2/version.json", from: td + "version-broken.json"},
			},
			env:         []string{"CUDA_VERSION=12.2.0"},
			want:        &CUDA{Version: "12.2.0", Source: "env:CUDA_VERSION"},
			warnAbout:   "/usr/local/cuda-12.2/version.json",
			warnMessage: "parsing",
		},
		{
			name:    "no CUDA",
			entries: []treeEntry{{path: "usr/local/lib/libfoo.so.1", data: "x"}},
			env:     []string{"PATH=/usr/bin"},
			want:    nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := analyzeRootForTest(t, buildRoot(t, tc.entries), "amd64", tc.env, NewCUDAExtractor())
			switch {
			case tc.want == nil && a.CUDA != nil:
				t.Errorf("cuda = %+v, want null", a.CUDA)
			case tc.want != nil && (a.CUDA == nil || *a.CUDA != *tc.want):
				t.Errorf("cuda = %+v, want %+v", a.CUDA, tc.want)
			}
			if tc.warnAbout == "" {
				if len(a.Warnings) != 0 {
					t.Errorf("warnings: %+v", a.Warnings)
				}
				return
			}
			if len(a.Warnings) != 1 || a.Warnings[0].Path != tc.warnAbout || !strings.Contains(a.Warnings[0].Message, tc.warnMessage) {
				t.Errorf("warnings = %+v, want one about %s mentioning %q", a.Warnings, tc.warnAbout, tc.warnMessage)
			}
		})
	}
}
