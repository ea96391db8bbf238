/*
Copyright The PetSet Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Command reliabilitydoc writes docs/reliability.md from the JSON lines the
// e2e fault and load scenarios record:
//
//	go run ./test/e2e/reliabilitydoc -in _output/chaos/reliability.jsonl -out docs/reliability.md
//
// -in may be given more than once: a result of a later file replaces the one
// of an earlier file for the same test, so that a run of some scenarios
// (make test-load) keeps the results of the others from an earlier run. A
// file of an -in list that does not exist is skipped, unless none exists.
// -save writes the merged results, each naming its run's command, back as
// JSON lines for the next merge.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/petsets/petset/test/e2e/reliability"
)

func main() {
	var ins []string
	flag.Func("in", "a results file (JSON lines); repeat it to merge, later files win", func(v string) error {
		ins = append(ins, v)
		return nil
	})
	out := flag.String("out", "docs/reliability.md", "the page to write")
	save := flag.String("save", "", "write the merged results here (JSON lines)")
	command := flag.String("command", "make test-chaos", "how the results of the last -in file were produced, for the page")
	flag.Parse()
	if err := run(ins, *out, *save, *command); err != nil {
		fmt.Fprintln(os.Stderr, "reliabilitydoc:", err)
		os.Exit(1)
	}
}

func run(ins []string, out, save, command string) error {
	if len(ins) == 0 {
		return fmt.Errorf("-in is required")
	}
	var results []reliability.Result
	read := 0
	for i, in := range ins {
		rs, err := readFile(in)
		if errors.Is(err, fs.ErrNotExist) && i < len(ins)-1 {
			fmt.Printf("%s does not exist; skipping it\n", in)
			continue
		}
		if err != nil {
			return err
		}
		if i == len(ins)-1 {
			for j := range rs {
				if rs[j].Command == "" {
					rs[j].Command = command
				}
			}
		}
		results = reliability.Merge(results, rs)
		read++
	}
	if len(results) == 0 {
		return fmt.Errorf("%v hold no results", ins)
	}
	var b bytes.Buffer
	if err := reliability.Render(&b, results, command); err != nil {
		return err
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	fmt.Printf("wrote %s from %d results in %d files\n", out, len(results), read)
	if save != "" {
		var jb bytes.Buffer
		if err := reliability.Write(&jb, results); err != nil {
			return err
		}
		if err := os.WriteFile(save, jb.Bytes(), 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", save, err)
		}
	}
	return nil
}

func readFile(path string) ([]reliability.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening the results: %w", err)
	}
	defer f.Close()
	results, err := reliability.Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return results, nil
}
