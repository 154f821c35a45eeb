package extract

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// progressBar draws one self-overwriting line per update, at most ten
// times a second, for a terminal the caller chose.
type progressBar struct {
	mu     sync.Mutex
	w      io.Writer
	layers int
	last   time.Time
	drawn  bool
}

func newProgressBar(w io.Writer, layers []v1.Layer) *progressBar {
	return &progressBar{w: w, layers: len(layers)}
}

const barWidth = 30

func (p *progressBar) update(layer int, done, total int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if done < total && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	frac := 0.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	fill := int(frac * barWidth)
	fmt.Fprintf(p.w, "\rlayer %d/%d [%s%s] %3.0f%% %s / %s ",
		layer+1, p.layers, strings.Repeat("=", fill), strings.Repeat(" ", barWidth-fill),
		frac*100, humanBytes(done), humanBytes(total))
	p.drawn = true
}

// finish erases the bar so the next output starts on a clean line.
func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", barWidth+48))
	}
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
