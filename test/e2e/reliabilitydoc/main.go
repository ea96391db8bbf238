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
// e2e fault scenarios record:
//
//	go run ./test/e2e/reliabilitydoc -in _output/chaos/reliability.jsonl -out docs/reliability.md
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"

	"github.com/petsets/petset/test/e2e/reliability"
)

func main() {
	in := flag.String("in", "", "the results file (JSON lines)")
	out := flag.String("out", "docs/reliability.md", "the page to write")
	command := flag.String("command", "make test-chaos", "how the results were produced, for the page")
	flag.Parse()
	if err := run(*in, *out, *command); err != nil {
		fmt.Fprintln(os.Stderr, "reliabilitydoc:", err)
		os.Exit(1)
	}
}

func run(in, out, command string) error {
	if in == "" {
		return fmt.Errorf("-in is required")
	}
	f, err := os.Open(in)
	if err != nil {
		return fmt.Errorf("opening the results: %w", err)
	}
	defer f.Close()
	results, err := reliability.Read(f)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(results) == 0 {
		return fmt.Errorf("%s holds no results", in)
	}
	var b bytes.Buffer
	if err := reliability.Render(&b, results, command); err != nil {
		return err
	}
	if err := os.WriteFile(out, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	fmt.Printf("wrote %s from %d results in %s\n", out, len(results), in)
	return nil
}
