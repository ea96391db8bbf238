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

// Command petset-bench measures PetSets against StatefulSets (and a
// CustomResourceDefinition with the PetSet schema) on the local cluster of
// hack/local-cluster.sh: single-object latency, bulk throughput, memory
// per object and the controllers. It starts the cluster itself, or uses a
// running one (-state-dir, -kubeconfig), prints a table, writes the raw
// results as JSON and, with -write-docs, docs/benchmarks.md and its chart.
//
//	petset-bench -write-docs            # what make bench runs
//	petset-bench -smoke                 # a quick check that everything works
//	petset-bench -state-dir _output/local -rounds 5
//	petset-bench -render _output/bench/results.json -write-docs
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/klog/v2"

	"github.com/petsets/petset/test/bench"
	"github.com/petsets/petset/test/bench/report"
	"github.com/petsets/petset/test/e2e/framework"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "petset-bench:", err)
		os.Exit(1)
	}
}

type flags struct {
	rounds, requests, objects, workers, pets, listRepeats, warmup int
	long, smoke                                                   bool
	groups, targets                                               string
	stateDir, kubeconfig, workDir                                 string
	out, docs, chart, render                                      string
	writeDocs                                                     bool
	timeout                                                       time.Duration
}

func run() error {
	def := bench.DefaultOptions()
	var f flags
	fs := flag.NewFlagSet("petset-bench", flag.ContinueOnError)
	fs.IntVar(&f.rounds, "rounds", def.Rounds, "rounds; each runs every target once, the order rotated by one per round (at least 3 for the ratios)")
	fs.IntVar(&f.requests, "requests", def.Requests, "sequential requests per verb and target (latency)")
	fs.IntVar(&f.objects, "objects", def.Objects, "objects per target (bulk and memory)")
	fs.IntVar(&f.workers, "workers", def.Workers, "concurrent clients creating the bulk objects")
	fs.IntVar(&f.pets, "pets", def.Pets, "N of the controller benchmark (0→N, N→0, teardown)")
	fs.IntVar(&f.listRepeats, "list-repeats", def.ListRepeats, "LISTs of each kind per round in the bulk benchmark (median)")
	fs.IntVar(&f.warmup, "warmup", def.Warmup, "untimed create/get/list/delete cycles per target before the first round")
	fs.BoolVar(&f.long, "long", false, fmt.Sprintf("long mode: %d bulk objects (explicit flags still win)", bench.LongOptions().Objects))
	fs.BoolVar(&f.smoke, "smoke", false, "smoke mode: a handful of objects, one round, no docs; checks that the benchmarks work")
	fs.StringVar(&f.groups, "groups", strings.Join(def.Groups, ","), "benchmarks to run: latency, bulk (with memory), controller")
	fs.StringVar(&f.targets, "targets", strings.Join(def.Targets, ","), "API targets of the latency and bulk benchmarks")
	fs.StringVar(&f.stateDir, "state-dir", "", "use the running cluster of hack/local-cluster.sh with this state directory (e.g. _output/local) instead of starting one")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "use the running cluster of this kubeconfig (without a state directory: no direct target, no memory figures)")
	fs.StringVar(&f.workDir, "dir", "_output/bench/cluster", "where the cluster this program starts keeps its state, binary and logs")
	fs.StringVar(&f.out, "out", "_output/bench/results.json", "results JSON")
	fs.BoolVar(&f.writeDocs, "write-docs", false, "write the markdown page and chart (-docs, -chart) from the results")
	fs.StringVar(&f.docs, "docs", "docs/benchmarks.md", "markdown page written by -write-docs")
	fs.StringVar(&f.chart, "chart", "docs/benchmarks.png", "chart written by -write-docs")
	fs.StringVar(&f.render, "render", "", "do not run: read this results JSON and print (and with -write-docs, write) it")
	fs.DurationVar(&f.timeout, "timeout", 2*time.Hour, "bound of the whole run")
	klogFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(klogFlags)
	klogFlags.VisitAll(func(fl *flag.Flag) {
		if fl.Name == "v" || fl.Name == "vmodule" {
			fs.Var(fl.Value, fl.Name, fl.Usage)
		}
	})
	if err := fs.Parse(os.Args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	root, err := framework.FindRoot()
	if err != nil {
		return err
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	logger := klog.Background()
	ctx = klog.NewContext(ctx, logger)

	if f.render != "" {
		res, err := bench.ReadJSON(abs(f.render))
		if err != nil {
			return err
		}
		res.PrintTable(os.Stdout)
		if f.writeDocs {
			return writeDocs(logger, res, abs(f.docs), abs(f.chart))
		}
		return nil
	}

	opts, err := options(fs, f)
	if err != nil {
		return err
	}
	if f.smoke && f.writeDocs {
		return errors.New("-smoke measures nothing worth publishing; it does not write docs")
	}
	if f.stateDir != "" && f.kubeconfig != "" {
		return errors.New("give -state-dir or -kubeconfig, not both")
	}

	var cluster *bench.Cluster
	switch {
	case f.stateDir != "":
		if cluster, err = bench.LoadClusterDir(abs(f.stateDir)); err != nil {
			return err
		}
	case f.kubeconfig != "":
		if cluster, err = bench.LoadKubeconfig(f.kubeconfig); err != nil {
			return err
		}
	default:
		started, down, err := startCluster(ctx, root, abs(f.workDir))
		if err != nil {
			return err
		}
		defer down()
		if cluster, err = bench.LoadCluster(started.Env); err != nil {
			return err
		}
	}
	if cluster.HasProcesses() {
		// The benchmarks restart the cluster's processes (before every
		// memory sample) with the script that started them.
		cluster.Script = filepath.Join(root, "hack", "local-cluster.sh")
	}

	// The source is read before the run: the tree may change while it
	// lasts, and the servers measured were built from what it is now.
	src := source(ctx, root)
	res, runErr := bench.Run(ctx, cluster, opts)
	if res == nil {
		return runErr
	}
	res.Meta.Command = command(root)
	res.Meta.Source = src
	if os.Getenv("MAKELEVEL") != "" {
		res.Meta.Via = "make"
	}
	res.PrintTable(os.Stdout)
	if err := res.WriteJSON(abs(f.out)); err != nil {
		return errors.Join(runErr, err)
	}
	logger.Info("Wrote the results", "path", abs(f.out))
	if f.writeDocs {
		if err := writeDocs(logger, res, abs(f.docs), abs(f.chart)); err != nil {
			return errors.Join(runErr, err)
		}
	}
	return runErr
}

// options builds the options of the mode (-smoke, -long or the default)
// and applies the flags given explicitly.
func options(fs *flag.FlagSet, f flags) (bench.Options, error) {
	if f.smoke && f.long {
		return bench.Options{}, errors.New("-smoke and -long exclude each other")
	}
	opts := bench.DefaultOptions()
	switch {
	case f.smoke:
		opts = bench.SmokeOptions()
	case f.long:
		opts = bench.LongOptions()
	}
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "rounds":
			opts.Rounds = f.rounds
		case "requests":
			opts.Requests = f.requests
		case "objects":
			opts.Objects = f.objects
		case "workers":
			opts.Workers = f.workers
		case "pets":
			opts.Pets = f.pets
		case "list-repeats":
			opts.ListRepeats = f.listRepeats
		case "warmup":
			opts.Warmup = f.warmup
		case "groups":
			opts.Groups = splitList(f.groups)
		case "targets":
			opts.Targets = splitList(f.targets)
		}
	})
	return opts, opts.Validate()
}

func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// startCluster brings the local cluster up in dir through the e2e
// framework (which builds petset-apiserver from this tree) and returns it
// with the function that stops it and removes its state.
func startCluster(ctx context.Context, root, dir string) (*framework.Cluster, func(), error) {
	logger := klog.FromContext(ctx)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	logPath := filepath.Join(dir, "cluster.log")
	log, err := os.Create(logPath)
	if err != nil {
		return nil, nil, fmt.Errorf("creating %s: %w", logPath, err)
	}
	logger.Info("Starting the local cluster", "dir", dir, "log", logPath)
	c, err := framework.Up(ctx, framework.Options{Root: root, Dir: dir, Log: log})
	if err != nil {
		log.Close()
		return nil, nil, fmt.Errorf("starting the local cluster (log: %s): %w", logPath, err)
	}
	logger.Info("The local cluster is up", "kubeconfig", c.Env["KUBECONFIG"])
	down := func() {
		logger.Info("Stopping the local cluster", "dir", dir)
		downCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
		defer cancel()
		if err := c.Down(downCtx, log); err != nil {
			logger.Error(err, "Stopping the local cluster", "log", logPath)
		}
		log.Close()
	}
	return c, down, nil
}

// command returns the command line of this run, the binary relative to the
// repository root.
func command(root string) string {
	argv0 := os.Args[0]
	if rel, err := filepath.Rel(root, argv0); err == nil && !strings.HasPrefix(rel, "..") {
		argv0 = rel
	}
	parts := []string{argv0}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		parts = append(parts, a)
	}
	return strings.Join(parts, " ")
}

// source describes the checkout the benchmarked servers were built from:
// git describe of HEAD, marked -dirty when the tree has changes.
func source(ctx context.Context, root string) string {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", root, "describe", "--tags", "--always", "--dirty").Output()
	if err != nil {
		klog.FromContext(ctx).Error(err, "Describing the checkout")
		return ""
	}
	return strings.TrimSpace(string(out))
}

func writeDocs(logger klog.Logger, res *bench.Results, docs, chart string) error {
	if err := report.Write(res, docs, chart); err != nil {
		return err
	}
	logger.Info("Wrote the benchmark page", "page", docs, "chart", chart)
	return nil
}
