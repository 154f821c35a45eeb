package index

import (
	"context"
	"sync"
)

// Prefetch fetches the pages of projects in parallel (at most the client's
// concurrency at once) and, when pick is not nil, the metadata of the files
// pick chooses from each page — typically the newest few candidates — so the
// resolver finds them ready. Errors are not returned: a later Project or
// Metadata call for the same thing retries and reports them.
func (c *Client) Prefetch(ctx context.Context, projects []string, pick func([]File) []File) {
	type job struct {
		project string
		file    *File
	}
	jobs := make(chan job)
	var wg sync.WaitGroup
	var feed sync.WaitGroup
	for range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				if j.file != nil {
					c.Metadata(ctx, *j.file)
					feed.Done()
					continue
				}
				files, err := c.Project(ctx, j.project)
				if err == nil && pick != nil {
					for _, f := range pick(files) {
						feed.Add(1)
						// Hand the metadata jobs back from a goroutine so
						// workers never block on each other.
						go func() {
							select {
							case jobs <- job{file: &f}:
							case <-ctx.Done():
								feed.Done()
							}
						}()
					}
				}
				feed.Done()
			}
		}()
	}
	feed.Add(len(projects))
	go func() {
		for _, p := range projects {
			select {
			case jobs <- job{project: p}:
			case <-ctx.Done():
				feed.Done()
			}
		}
	}()
	feed.Wait()
	close(jobs)
	wg.Wait()
}
