// Command fakehub serves a folder as a Hugging Face hub repository (model
// and dataset, branch main) on 127.0.0.1 with hubtest, for checking other
// hub clients (Python's huggingface_hub) against the same fake hub the
// tests use; see scripts/hub-interop.sh. It prints "URL COMMIT", then, for
// every line read on stdin, the requests seen since the last line
// ("requests: N" and one indented line each); it exits when stdin closes.
package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"

	"github.com/medbench/medbench/hub/hubtest"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: fakehub DIR ORG/NAME")
		os.Exit(2)
	}
	dir, id := os.Args[1], os.Args[2]
	files := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakehub:", err)
		os.Exit(2)
	}
	srv := hubtest.New()
	defer srv.Close()
	srv.LFSMin = 100_000
	commit := hubtest.Commit(id)
	for _, kind := range []string{"model", "dataset"} {
		srv.SetRepo(kind, id, &hubtest.Repo{Branches: map[string]string{"main": commit}, Commits: map[string]map[string][]byte{commit: files}})
	}
	fmt.Println(srv.URL, commit)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		reqs := srv.Requests()
		srv.Reset()
		fmt.Println("requests:", len(reqs))
		for _, q := range reqs {
			fmt.Println(" ", q.Method, q.Path, q.Range)
		}
	}
}
